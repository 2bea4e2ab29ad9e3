import { access, mkdir, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { BlobFormat } from '../../store/interface.js'
import { safeName } from '../../store/collection.js'
import { fromHex, toHex } from '../../store/hash-text.js'
import { createNode, type VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../node/peer.js'
import { BlobTicket } from '../ticket.js'
import type { Strategy } from '../downloader/interface.js'
import { dataDir, flag, has, Interrupted, interruptSignal, Output, parseArgs, parseProviders, size, UsageError } from './common.js'

/** What to fetch and from whom: a ticket, or a hash with --provider. */
function target (text: string, providers: string[]): { hash: Uint8Array, format: BlobFormat, providers: PeerTarget[] } {
  const extra = parseProviders(providers)
  if (text.length === 64) {
    try { return { hash: fromHex(text), format: 'raw', providers: extra } } catch { /* not hex: maybe a ticket */ }
  }
  let ticket: BlobTicket
  try {
    ticket = BlobTicket.parse(text)
  } catch (err) {
    throw new UsageError(`not a ticket or a 64-digit hex hash: ${text.slice(0, 40)}${text.length > 40 ? '...' : ''} (${(err as Error).message})`)
  }
  return { hash: ticket.hash, format: ticket.format, providers: [ticket, ...extra] }
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}

async function isDirectory (path: string): Promise<boolean> {
  return await stat(path).then(s => s.isDirectory(), () => false)
}

/**
 * `verity get <ticket|hash>`: download (resuming whatever is already in the data directory),
 * verify, then write the file, the collection's files, or (`-o -`) a single blob to stdout.
 */
export async function get (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, {
    output: { value: true, short: 'o' },
    provider: { value: true, many: true },
    strategy: { value: true },
    overwrite: {}
  })
  if (parsed.positionals.length !== 1) throw new UsageError('verity get takes one ticket or hash')
  const strategy = (flag(parsed, 'strategy') ?? 'split') as Strategy
  if (strategy !== 'split' && strategy !== 'none') throw new UsageError(`--strategy must be split or none, not ${strategy}`)
  const what = target(parsed.positionals[0] as string, parsed.flags.get('provider') ?? [])
  const output = flag(parsed, 'output')
  const overwrite = has(parsed, 'overwrite')
  // An existing directory takes what arrives under it; an existing file is not replaced unasked.
  if (output !== undefined && output !== '-' && !overwrite && await exists(output) && !await isDirectory(output)) {
    throw new Error(`${output} exists; pass --overwrite to replace it`)
  }
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  const dir = dataDir(parsed)
  const node = await createNode({ dataDir: dir })
  try {
    await fetchInto(node, what, strategy, out, interrupt.signal)
    await write(node, what, output, overwrite, out, interrupt.signal)
    return 0
  } catch (err) {
    if (interrupt.signal.aborted) {
      out.clear()
      throw new Interrupted(`interrupted; the verified part is kept in ${dir}, run the same command again to resume`)
    }
    throw err
  } finally {
    interrupt.dispose()
    await node.stop()
  }
}

async function fetchInto (node: VerityNode, what: ReturnType<typeof target>, strategy: Strategy, out: Output, signal: AbortSignal): Promise<void> {
  const local = await node.remote.local({ hash: what.hash, format: what.format })
  if (local.missing() === undefined) {
    out.say(`${toHex(what.hash)} is already here (${size(local.localBytes)}); nothing to fetch`)
    out.event({ type: 'local', hash: toHex(what.hash), bytes: local.localBytes })
    return
  }
  if (what.providers.length === 0) throw new Error(`${toHex(what.hash)} is not here and no provider was given (a ticket names one; or --provider)`)
  const started = performance.now()
  let first: number | undefined
  const handle = node.downloader.download({ request: { hash: what.hash, format: what.format }, providers: what.providers, strategy, signal })
  for await (const item of handle) {
    if (item.type === 'progress') {
      first ??= item.bytes
      out.draw(item.bytes, item.total, started, item.bytes - first)
      out.event({ type: 'progress', bytes: item.bytes, ...(item.total === undefined ? {} : { total: item.total }) })
    } else if (item.type === 'providerFailed') {
      if (out.verbose) out.say(`provider ${item.provider}: ${item.error.name}: ${item.error.message}`)
      out.event({ type: 'providerFailed', provider: item.provider, reason: item.reason, error: `${item.error.name}: ${item.error.message}` })
    }
  }
  const result = await handle
  out.clear()
  const seconds = (performance.now() - started) / 1000
  const fetched = result.bytes - result.localBytes
  out.say(`fetched ${size(fetched)} in ${seconds.toFixed(1)} s${result.localBytes > 0 ? ` (${size(result.localBytes)} were already here)` : ''}, verified`)
  out.event({ type: 'fetched', hash: toHex(what.hash), bytes: result.bytes, localBytes: result.localBytes, bytesReceived: result.bytesReceived })
}

/** Write what was fetched: one blob to a file or stdout, or a collection's files. */
async function write (node: VerityNode, what: ReturnType<typeof target>, output: string | undefined, overwrite: boolean, out: Output, signal: AbortSignal): Promise<void> {
  const files = what.format === 'hashseq'
    ? (await node.blobs.readCollection(what.hash)).map(e => ({ name: safeName(e.name), hash: e.hash }))
    : [{ name: toHex(what.hash), hash: what.hash }]
  if (output === '-') {
    if (files.length !== 1) throw new UsageError(`-o - writes a single blob; this collection has ${files.length} files`)
    for await (const bytes of node.blobs.reader((files[0] as { hash: Uint8Array }).hash, { signal })) {
      if (!process.stdout.write(bytes)) await new Promise(resolve => process.stdout.once('drain', resolve))
    }
    return
  }
  // One file goes to -o itself (unless -o is a directory); several go under -o (or here) by their names.
  const single = files.length === 1 && output !== undefined && !await isDirectory(output)
  const paths = files.map(f => single ? resolve(output) : resolve(output ?? '.', f.name))
  if (!overwrite) {
    for (const path of paths) if (await exists(path)) throw new Error(`${path} exists; pass --overwrite to replace it`)
  }
  for (const [i, file] of files.entries()) {
    const path = paths[i] as string
    await mkdir(dirname(path), { recursive: true })
    await node.blobs.exportFile(file.hash, path, { signal })
    if (out.verbose) out.say(`wrote ${path}`)
  }
  out.event({ type: 'written', files: paths })
  out.say(`wrote ${files.length === 1 ? paths[0] as string : `${files.length} files under ${resolve(output ?? '.')}`}`)
  out.result(files.length === 1 ? paths[0] as string : resolve(output ?? '.'))
}

export const GET_HELP = `verity get <ticket|hash> [-o <path>|-] [--provider <ticket|multiaddr>]... [--strategy split|none] [--overwrite]
  downloads and verifies (resuming what the data directory holds), then writes the file, the
  collection's files under <path> (default: here), or with -o - a single blob to stdout`
