import { toHex } from '../../store/hash-text.js'
import type { Strategy } from '../downloader/interface.js'
import { createNode, type VerityNode } from '../node/create-node.js'
import { toRequest } from '../remote.js'
import { dataDir, FETCH_FLAGS, fetchLimits, flag, has, interruptSignal, resumable, Output, parseArgs, strategyOf, size, UsageError, type Target } from './common.js'
import { exists, isDirectory, writeOut } from './files.js'
import { keepFetched, tagNameOf } from './get-tag.js'
import { writableOrThrow } from './output-dir.js'
import { target } from './peers.js'
import { getUrl, GET_URL_FLAGS } from './get-url.js'
import { isUrl } from './store-add-url.js'

/**
 * `verity get <ticket|hash>`: download (resuming whatever is already in the data directory),
 * verify, tag it (named after what is written, get-tag.ts; not with --no-tag) so gc keeps it,
 * then write the file, the collection's files, or (`-o -`) a single blob to stdout.
 */
export async function get (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, {
    output: { value: true, short: 'o' },
    provider: { value: true, many: true },
    strategy: { value: true },
    overwrite: {},
    'no-tag': {},
    ...FETCH_FLAGS,
    ...GET_URL_FLAGS
  })
  if (parsed.positionals.length !== 1) throw new UsageError('get takes one ticket, hash or URL')
  if (isUrl(parsed.positionals[0] as string)) return await getUrl(parsed, parsed.positionals[0] as string)
  for (const name of Object.keys(GET_URL_FLAGS)) if (has(parsed, name)) throw new UsageError(`--${name} goes with a URL (verity get <url> --seed <peer>)`)
  const strategy = strategyOf(parsed)
  const limits = fetchLimits(parsed)
  const what = target(parsed.positionals[0] as string, parsed.flags.get('provider') ?? [])
  const output = flag(parsed, 'output')
  if (output === '-' && has(parsed, 'json')) throw new UsageError('-o - puts the blob on stdout, where --json would put its events: use one of them')
  const overwrite = has(parsed, 'overwrite')
  // Before the first byte is fetched, not after the whole download.
  if (output !== '-') await writableOrThrow(output ?? '.')
  // An existing directory takes what arrives under it; an existing file is not replaced unasked.
  if (output !== undefined && output !== '-' && !overwrite && await exists(output) && !await isDirectory(output)) {
    throw new Error(`${output} exists; pass --overwrite to replace it`)
  }
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  const dir = dataDir(parsed)
  const node = await createNode({ dataDir: dir, ...(limits.minRate === undefined ? {} : { downloader: { minRate: limits.minRate } }) })
  try {
    await fetchInto(node, what, strategy, out, interrupt.signal, undefined, limits.timeoutMs)
    const content = { hash: what.hash, format: what.format }
    if (!has(parsed, 'no-tag')) await keepFetched(node.blobs, content, await tagNameOf(node.blobs, content, output), out)
    await writeOut(node.blobs, what, output, overwrite, out, interrupt.signal)
    return 0
  } catch (err) {
    throw resumable(err, interrupt.signal, out, dir)
  } finally {
    interrupt.dispose()
    await node.stop()
  }
}

/**
 * Download what is not here yet of `what` (of its bytes `range` only, for a raw blob), drawing
 * progress; says so and skips the network when nothing is missing.
 */
export async function fetchInto (node: VerityNode, what: Target, strategy: Strategy, out: Output, signal: AbortSignal,
  range?: { offset: number, length: number }, timeoutMs?: number): Promise<void> {
  const content = { hash: what.hash, format: what.format }
  const local = await node.remote.local(content, range === undefined ? {} : { range })
  if (local.missing() === undefined) {
    out.say(`${toHex(what.hash)}${range === undefined ? '' : ` bytes ${range.offset}..${range.offset + range.length}`} ${local.localBytes === 0 ? 'is empty' : 'is already here'} (${size(local.localBytes)}); nothing to fetch`)
    out.event({ type: 'local', hash: toHex(what.hash), bytes: local.localBytes })
    return
  }
  if (what.providers.length === 0) throw new Error(`${toHex(what.hash)} is not here and no provider was given (a ticket names one; or --provider)`)
  const started = performance.now()
  let first: number | undefined
  const handle = node.downloader.download({
    request: range === undefined ? content : toRequest(content, range),
    providers: what.providers,
    strategy,
    signal,
    ...(timeoutMs === undefined ? {} : { timeoutMs })
  })
  for await (const item of handle) {
    if (item.type === 'download:progress') {
      const { bytes, total } = item.detail
      first ??= bytes
      out.draw(bytes, total, started, bytes - first)
      out.event({ type: 'progress', bytes, ...(total === undefined ? {} : { total }) })
    } else if (item.type === 'download:provider-failed') {
      const { provider, reason, error } = item.detail
      if (out.verbose) out.say(`provider ${provider}: ${error.name}: ${error.message}`)
      out.event({ type: 'providerFailed', provider, reason, error: `${error.name}: ${error.message}` })
    }
  }
  const result = await handle
  out.clear()
  const seconds = (performance.now() - started) / 1000
  const fetched = result.bytes - result.localBytes
  out.say(`fetched ${size(fetched)} in ${seconds.toFixed(1)} s${result.localBytes > 0 ? ` (${size(result.localBytes)} were already here)` : ''}, verified`)
  out.event({ type: 'fetched', hash: toHex(what.hash), bytes: result.bytes, localBytes: result.localBytes, bytesReceived: result.bytesReceived })
}
