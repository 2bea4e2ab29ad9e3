import { toHex } from '../../store/hash-text.js'
import { createNode } from '../node/create-node.js'
import { safeUrlOf } from '../origin/safe-url.js'
import { fetchThroughScheduler } from '../scheduler/fetch-task.js'
import { dataDir, flag, has, interruptSignal, Output, parseDuration, resumable, size, UsageError, type Parsed } from './common.js'
import { nameOf, writeOut } from './files.js'
import { keepFetched, tagNameOf } from './get-tag.js'
import { writableOrThrow } from './output-dir.js'
import { listening, parseListen } from './peers.js'
import { parseHeaders } from './store-add-url.js'

/** How long `verity get <url> --scheduler` serves its pieces after it has them all, unless --linger says. */
export const DEFAULT_LINGER_MS = 5000

/**
 * `verity get <url> --scheduler http://host:8002`: the scheduler has its seed fetch the URL, and
 * names, piece by piece, the peers to fetch it from (the seed, or other nodes fetching it now);
 * each piece is verified as it lands and reported, so this node serves it to the others at once.
 * Once the file is here the node stays a source for `--linger` (5 s), then leaves
 * (`service/down`) and writes the file as any get writes it.
 */
export async function getViaScheduler (parsed: Parsed, url: string): Promise<number> {
  const scheduler = flag(parsed, 'scheduler') as string
  if (has(parsed, 'seed')) throw new UsageError('--scheduler names the seeds itself: give --seed to verity scheduler, not to get')
  // The scheduler names each piece's source and the task's id: these have no say here.
  for (const name of ['provider', 'strategy', 'timeout', 'min-rate', 'application']) {
    if (has(parsed, name)) throw new UsageError(`--${name} does not go with --scheduler`)
  }
  try {
    if (new URL(scheduler).protocol !== 'http:') throw new TypeError('not http:')
  } catch {
    throw new UsageError(`--scheduler takes the scheduler's http:// URL, not ${scheduler.slice(0, 60)}`)
  }
  const filter = parsed.flags.get('filter') ?? []
  const tag = flag(parsed, 'task-tag')
  const headers = parseHeaders(parsed.flags.get('header') ?? [])
  const linger = flag(parsed, 'linger')
  const lingerMs = linger === undefined ? DEFAULT_LINGER_MS : linger === '0' ? 0 : parseDuration(linger, 'linger')
  const output = flag(parsed, 'output')
  const listen = parseListen(parsed.flags.get('listen'))
  // Before the scheduler is asked for anything, not after the whole download (as get <url> --seed).
  if (output !== '-') await writableOrThrow(output ?? '.')
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  const dir = dataDir(parsed)
  const node = await listening(listen ?? [], async () => await createNode({ dataDir: dir, ...(listen === undefined ? {} : { listen }) }))
  try {
    const started = performance.now()
    let pieces = 0
    const result = await fetchThroughScheduler(node, scheduler, url, {
      filter, headers, lingerMs, signal: interrupt.signal, ...(tag === undefined ? {} : { tag }),
      onPiece: piece => {
        if (piece.ok) pieces++
        if (out.verbose || !piece.ok) out.say(`piece ${piece.range} from ${piece.source}: ${piece.ok ? 'verified' : `${piece.error?.name ?? 'Error'}: ${piece.error?.message ?? ''}`}`)
        out.event({ type: 'piece', range: piece.range, source: piece.source, ok: piece.ok })
      }
    })
    out.say(`fetched ${safeUrlOf(url, filter)} (${size(result.size)}, ${pieces} pieces from ${Object.keys(result.sources).length} peers) in ${((performance.now() - started) / 1000).toFixed(1)} s, verified`)
    out.event({ type: 'fetched', task: result.taskId, hash: toHex(result.hash), bytes: result.size, sources: result.sources })
    const content = { hash: result.hash, format: 'raw' as const }
    const target = output ?? nameOf(url)
    if (!has(parsed, 'no-tag')) await keepFetched(node.blobs, content, await tagNameOf(node.blobs, content, target), out)
    await writeOut(node.blobs, content, target, has(parsed, 'overwrite'), out, interrupt.signal)
    return 0
  } catch (err) {
    throw resumable(err, interrupt.signal, out, dir)
  } finally {
    interrupt.dispose()
    await node.stop()
  }
}
