import { basename } from 'node:path'
import { toHex } from '../../store/hash-text.js'
import { createNode } from '../node/create-node.js'
import { isCollection } from './collection-probe.js'
import { dataDir, FETCH_FLAGS, STUN_FLAG, hashOrTicket, fetchLimits, flag, has, interruptSignal, resumable, Output, parseArgs, strategyOf, UsageError, type Target } from './common.js'
import { fetchInto } from './fetch.js'
import { exists, isDirectory, writeOut } from './files.js'
import { keepFetched, tagNameOf } from './get-tag.js'
import { writableOrThrow } from './output-dir.js'
import { target } from './peers.js'
import { getUrl, GET_URL_FLAGS } from './get-url.js'
import { isUrl } from './store-add-url.js'
import { DHT_FLAGS, dhtOf, sayDiscovery } from './dht-flags.js'
import { reachabilityFor, stunOf } from './relay-flags.js'

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
    raw: {},
    collection: {},
    ...FETCH_FLAGS,
    ...GET_URL_FLAGS,
    ...DHT_FLAGS,
    ...STUN_FLAG
  })
  if (parsed.positionals.length !== 1) throw new UsageError('get takes one ticket, hash or URL')
  if (isUrl(parsed.positionals[0] as string)) {
    if (has(parsed, 'raw') || has(parsed, 'collection')) throw new UsageError('--raw and --collection go with a hash or a ticket, not a URL')
    return await getUrl(parsed, parsed.positionals[0] as string)
  }
  for (const name of Object.keys(GET_URL_FLAGS)) if (has(parsed, name)) throw new UsageError(`--${name} goes with a URL (verity get <url> --seed <peer>)`)
  // A short-lived get asks the DHT (client mode) and announces nothing.
  const dht = dhtOf(parsed, 'client', true)
  const strategy = strategyOf(parsed)
  const limits = fetchLimits(parsed)
  if (has(parsed, 'raw') && has(parsed, 'collection')) throw new UsageError('--raw and --collection contradict each other: give one')
  const text = parsed.positionals[0] as string
  const named = target(text, parsed.flags.get('provider') ?? [])
  // --raw: the blob itself (a collection's index); --collection: a bare hash is a collection's.
  let what: Target = { ...named, format: has(parsed, 'raw') ? 'raw' : has(parsed, 'collection') ? 'hashseq' : named.format }
  // A bare hash says nothing of its format: once its bytes are here, they may show a collection.
  const mayBeCollection = hashOrTicket(text).ticket === undefined && what.format === 'raw' && !has(parsed, 'raw')
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
  // A provider reachable only through a relay: dial it there, and try hole punching.
  // Providers the DHT finds may be behind a relay too.
  const reachability = reachabilityFor(what.providers, stunOf(parsed) ?? [], dht !== undefined)
  const node = await createNode({
    dataDir: dir,
    ...(reachability === undefined ? {} : { reachability }),
    ...(limits.minRate === undefined ? {} : { downloader: { minRate: limits.minRate } }),
    ...(dht === undefined ? {} : { dht: { ...dht, announce: 'none', onEvent: sayDiscovery(out) } })
  })
  const discovery = node.discovery
  const discover = discovery === undefined ? {} : { discover: (signal: AbortSignal) => discovery.findProviders(what.hash, { signal, keepLooking: true }) }
  try {
    // --timeout is for the whole get: a collection found by its hash is fetched in what is left.
    const deadline = limits.timeoutMs === undefined ? undefined : performance.now() + limits.timeoutMs
    const left = (): { timeoutMs?: number } => deadline === undefined ? {} : { timeoutMs: Math.max(1, Math.round(deadline - performance.now())) }
    const found = await fetchInto(node, what, out, { strategy, signal: interrupt.signal, ...left(), name: progressName(what, output), ...discover })
    if (mayBeCollection && await isCollection(node, what.hash, [...what.providers, ...found], { signal: interrupt.signal, ...left() })) {
      out.say(`${toHex(what.hash)} is a collection: fetching its files (--raw writes the index blob itself)`)
      // Its files from the providers of its index: they announced the collection.
      what = { ...what, format: 'hashseq', providers: [...what.providers, ...found] }
      await fetchInto(node, what, out, { strategy, signal: interrupt.signal, ...left(), name: progressName(what, output), ...discover })
    }
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

/** What the progress line calls a fetch: the file it goes to, else (stdout, a collection's files) the hash's start. */
function progressName (what: Target, output: string | undefined): string {
  if (what.format === 'raw' && output !== undefined && output !== '-') return basename(output)
  return toHex(what.hash).slice(0, 12)
}
