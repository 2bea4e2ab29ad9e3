import { toHex } from '../../store/hash-text.js'
import type { PeerTarget } from '../net/peer.js'
import { resolvePeer } from '../net/peer.js'
import { createNode } from '../node/create-node.js'
import { OriginError } from '../origin/errors.js'
import { safeUrlOf } from '../origin/safe-url.js'
import { taskIdOf } from '../origin/task-id.js'
import { NoSeedAvailable } from '../request/errors.js'
import { HashRing } from '../routing/hash-ring.js'
import { describePeer, parseProviders } from './peers.js'
import { writableOrThrow } from './output-dir.js'
import { dataDir, flag, has, interruptSignal, Output, resumable, size, strategyOf, UsageError, type Parsed } from './common.js'
import { nameOf, writeOut } from './files.js'
import { keepFetched, tagNameOf } from './get-tag.js'
import { parseHeaders } from './store-add-url.js'
import { reasonOf } from '../downloader/errors.js'
import { detailOf, troubleOf, troubleWords } from './fetch-words.js'

/** The flags `verity get <url>` takes beside get's own. */
export const GET_URL_FLAGS = {
  seed: { value: true, many: true },
  filter: { value: true, many: true },
  'task-tag': { value: true },
  application: { value: true },
  header: { value: true, many: true },
  scheduler: { value: true },
  linger: { value: true },
  listen: { value: true, many: true }
} as const

/**
 * `verity get <url> --seed <ticket|multiaddr>...`: with several seeds, the one the URL's task id
 * hashes to on the ring of their peer ids (the request SDK's routing, docs/request.md), then the
 * next ones round the ring if it fails (an origin error or an interrupt ends it at once). The seed fetches the URL from its origin (once,
 * however many ask) and names the blob; it is then fetched from the seed (and `--provider`s),
 * verified, resuming what the data directory holds, tagged, and written as any get writes (a
 * file named after the URL's last segment unless -o says otherwise; a directory's files).
 * Origin errors exit 1 naming them.
 */
export async function getUrl (parsed: Parsed, url: string): Promise<number> {
  if (has(parsed, 'scheduler')) return await (await import('./get-scheduler.js')).getViaScheduler(parsed, url)
  if (has(parsed, 'linger') || has(parsed, 'listen')) throw new UsageError('--linger and --listen go with --scheduler')
  const seedTexts = parsed.flags.get('seed') ?? []
  if (seedTexts.length === 0) throw new UsageError('a URL is fetched through a seed peer: --seed <ticket|multiaddr> (verity add <url> fetches it from the origin here)')
  const providers = parseProviders(parsed.flags.get('provider') ?? [])
  const filter = parsed.flags.get('filter') ?? []
  const tag = flag(parsed, 'task-tag')
  const application = flag(parsed, 'application')
  const headers = parseHeaders(parsed.flags.get('header') ?? [])
  const output = flag(parsed, 'output')
  const overwrite = has(parsed, 'overwrite')
  const strategy = strategyOf(parsed)
  const shown = safeUrlOf(url, filter)
  const seeds = seedOrder(parseProviders(seedTexts, 'seed'), taskIdOf(url, { filter, ...(tag === undefined ? {} : { tag }), ...(application === undefined ? {} : { application }) }))
  // Before the seed is asked for anything, not after the whole download.
  if (output !== '-') await writableOrThrow(output ?? '.')
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  const dir = dataDir(parsed)
  const node = await createNode({ dataDir: dir })
  try {
    const started = performance.now()
    const tried: Array<{ seed: string, error: Error }> = []
    let result
    for (const seed of seeds) {
      const addrs = describePeer(seed.target).addrs
      out.say(`connecting to seed ${seed.id} (${addrs.length === 0 ? 'addresses this node knows' : addrs.join(', ')})...`)
      out.event({ type: 'connecting', peer: seed.id, addrs })
      try {
        result = await fromSeed(seed.target)
        break
      } catch (err) {
        if (err instanceof OriginError || interrupt.signal.aborted || seeds.length === 1) throw err
        tried.push({ seed: seed.id, error: err as Error })
        out.say(`seed ${seed.id}: ${troubleWords(troubleOf(err as Error, reasonOf(err as Error)))}${tried.length < seeds.length ? '; trying the next seed' : ''}`)
        if (out.verbose) out.say(`seed ${seed.id}: detail: ${detailOf(err)}`)
      }
    }
    if (result === undefined) throw new NoSeedAvailable(tried)
    out.clear()
    out.say(`fetched ${size(result.bytesReceived)} in ${((performance.now() - started) / 1000).toFixed(1)} s${result.localBytes > 0 ? ` (${size(result.localBytes)} were already here)` : ''}, verified`)
    out.event({ type: 'fetched', task: result.taskId, hash: toHex(result.hash), bytes: result.size, localBytes: result.localBytes, bytesReceived: result.bytesReceived })
    const content = { hash: result.hash, format: result.format }
    const target = output ?? (result.format === 'raw' ? nameOf(url) : undefined)
    if (!has(parsed, 'no-tag')) await keepFetched(node.blobs, content, await tagNameOf(node.blobs, content, target), out)
    await writeOut(node.blobs, content, target, overwrite, out, interrupt.signal)
    return 0

    async function fromSeed (seed: PeerTarget): Promise<Awaited<ReturnType<typeof node.seeds.get>>> {
      let phase: 'seed' | 'download' = 'seed'
      const handle = node.seeds.get(seed, url, {
        filter, headers, providers, strategy, signal: interrupt.signal,
        ...(tag === undefined ? {} : { tag }), ...(application === undefined ? {} : { application })
      })
      for await (const item of handle) {
        if (item.type === 'seed:progress') {
          out.draw(item.detail.bytes, item.detail.total, started, item.detail.bytes)
        } else if (item.type === 'seed:task') {
          phase = 'download'
          out.clear()
          out.say(`the seed has ${shown}: ${toHex(item.detail.hash)} (${size(item.detail.size)}${item.detail.format === 'hashseq' ? ', a collection' : ''})`)
          out.event({ type: 'task', url: shown, task: item.detail.taskId, hash: toHex(item.detail.hash), format: item.detail.format, bytes: item.detail.size })
        } else if (item.type === 'download:progress' && phase === 'download') {
          out.draw(item.detail.bytes, item.detail.total, started, item.detail.bytes)
          out.event({ type: 'progress', bytes: item.detail.bytes, ...(item.detail.total === undefined ? {} : { total: item.detail.total }) })
        } else if (item.type === 'download:provider-failed' && out.verbose) {
          out.say(`provider ${item.detail.provider}: ${item.detail.error.name}: ${item.detail.error.message}`)
        }
      }
      return await handle
    }
  } catch (err) {
    throw resumable(err, interrupt.signal, out, dir)
  } finally {
    interrupt.dispose()
    await node.stop()
  }
}

/** The seeds in the order a get of the task tries them: round the ring of their peer ids from the task id. */
export function seedOrder (targets: PeerTarget[], taskId: string): Array<{ id: string, target: PeerTarget }> {
  const byId = new Map(targets.map(target => [resolvePeer(target).id, target]))
  const ring = new HashRing(byId.keys())
  return ring.lookupN(taskId, ring.size).map(id => ({ id, target: byId.get(id) as PeerTarget }))
}
