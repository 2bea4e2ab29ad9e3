import { isAbsolute, relative } from 'node:path'
import type { ProviderEvent } from '../../protocol/interface.js'
import { scopeOf } from '../../protocol/provider/scope.js'
import { decodeHashSeq } from '../../store/collection.js'
import { toHex } from '../../store/hash-text.js'
import type { TempTag } from '../../store/interface.js'
import { createNode } from '../node/create-node.js'
import { flag, has, interruptSignal, STUN_FLAG, namedDataDir, Output, parseArgs, parseRate, size, UsageError, type Parsed } from './common.js'
import { controlled } from './control.js'
import { filesOf } from './files.js'
import { listening, parseListen } from './peers.js'
import { PrivateDir } from './private-dir.js'
import { RequestLog } from './request-log.js'
import { DHT_FLAGS, dhtOf, sayDiscovery } from './dht-flags.js'
import { reachabilityOf, RELAY_VIA_FLAG, sayReachability, waitForRelayed } from './relay-flags.js'

/** Everything on all interfaces, so the ticket works from another machine. */
export const SEND_LISTEN = ['/ip4/0.0.0.0/udp/0/quic-v1', '/ip4/0.0.0.0/tcp/0']

/**
 * `verity send <path...>`: import files (by reference unless --copy) as one collection, print the
 * `verity get <ticket>` line, serve until interrupted; only the collection, its names and its
 * files are served, unless --serve-all.
 *
 * Where they are imported: without a data directory named (`--data-dir`, VERITY_DIR), into a
 * private store in the temp directory, removed when send ends (Ctrl-C, SIGTERM, an error), like
 * sendme: nothing is left behind. With one, into that store, the collection held by a temp tag
 * while send runs and by no tag after (the next `verity gc` there takes what send added, unless
 * tagged meanwhile); that store's control socket runs store commands meanwhile.
 */
export async function send (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, { 'ticket-only': {}, copy: {}, listen: { value: true, many: true }, 'limit-rate': { value: true }, 'serve-all': {}, ...DHT_FLAGS, ...RELAY_VIA_FLAG, ...STUN_FLAG })
  if (parsed.positionals.length === 0) throw new UsageError('send needs at least one file or directory')
  const kept = namedDataDir(parsed)
  if (has(parsed, 'serve-all') && kept === undefined) {
    throw new UsageError('--serve-all serves a data directory: give --data-dir (without one, send imports into a private store holding only what it sends)')
  }
  parseListen(parsed.flags.get('listen')) // a bad one said now, before the files are read
  dhtOf(parsed, 'server', false) // so is a bad --bootstrap
  reachabilityOf(parsed) // and a bad --relay-via
  const out = new Output(parsed)
  const files = (await Promise.all(parsed.positionals.map(filesOf))).flat()
  const names = new Set<string>()
  for (const file of files) {
    if (names.has(file.name)) throw new UsageError(`two files would both be named ${file.name}`)
    names.add(file.name)
  }
  const interrupt = interruptSignal()
  const temp = kept === undefined ? await PrivateDir.make('verity-send-') : undefined
  try {
    return await serveFiles(parsed, files, kept ?? (temp as PrivateDir).path, temp !== undefined, out, interrupt)
  } finally {
    interrupt.dispose()
    await temp?.remove()
  }
}

/** Import `files` into the store in `dir`, print the ticket, and serve until interrupted. */
async function serveFiles (parsed: Parsed, files: Array<{ path: string, name: string }>, dir: string, temporary: boolean, out: Output,
  interrupt: { signal: AbortSignal, interrupted: Promise<void> }): Promise<number> {
  const mode = has(parsed, 'copy') ? 'copy' : 'reference'
  const limit = flag(parsed, 'limit-rate')
  // Nothing is served until the collection is in; then just it (the policy asks at each request).
  let scope = (_hash: Uint8Array): boolean => false
  const changes = new ChangedFiles(out)
  // One line per request at normal verbosity, each blob by the name it was sent under.
  const names = new Map<string, string>()
  const requests = new RequestLog(out, true, hex => names.get(hex))
  const listen = parseListen(parsed.flags.get('listen')) ?? SEND_LISTEN
  const dht = dhtOf(parsed, 'server', false)
  const reachability = reachabilityOf(parsed)
  const node = await listening(listen, async () => await createNode({
    // The relay's slot is reserved before the node starts: the ticket holds the relayed address.
    ...(reachability === undefined ? {} : { reachability }),
    // What it serves is what it announces: the collection (below), or with --serve-all the store.
    ...(dht === undefined ? {} : { dht: { ...dht, announce: has(parsed, 'serve-all') ? 'all' : 'none', onEvent: sayDiscovery(out) } }),
    dataDir: dir,
    listen,
    provide: {
      ...(has(parsed, 'serve-all') ? {} : { scope: hash => scope(hash) }),
      ...(limit === undefined ? {} : { throttleSend: rateLimiter(parseRate(limit, 'limit-rate')) })
    },
    onEvent: event => { changes.onEvent(event); requests.onEvent(event) }
  }))
  let pin: TempTag | undefined
  let stopControl = async (): Promise<void> => {}
  try {
    if (temporary && out.verbose) out.say(`private store ${dir} (removed when send stops)`)
    await waitForRelayed(node, reachability, interrupt.signal)
    sayReachability(node, reachability, out)
    let bytes = 0
    const entries = []
    for (const file of files) {
      interrupt.signal.throwIfAborted()
      const added = await node.blobs.addFile(file.path, { mode, tag: false, signal: interrupt.signal })
      bytes += added.size
      entries.push({ name: file.name, hash: added.hash })
      names.set(toHex(added.hash), file.name)
      if (mode === 'reference') changes.watch(added.hash, file.path)
      if (out.verbose) out.say(`${toHex(added.hash)}  ${file.name}`)
    }
    // No tag: a pin holds the collection and its files while send runs (a gc run through the
    // control socket meanwhile keeps them), and nothing once it stops.
    const collection = await node.blobs.addCollection(entries, { tag: false })
    pin = node.blobs.tempTag({ hash: collection.hash, format: 'hashseq' })
    names.set(toHex(collection.hash), 'the collection')
    const meta = decodeHashSeq(await node.blobs.getBytes(collection.hash))[0]
    if (meta !== undefined) names.set(toHex(meta), 'the collection\'s names')
    if (!has(parsed, 'serve-all')) scope = await scopeOf(node.blobs, [pin.value], { signal: interrupt.signal })
    node.discovery?.announce([collection.hash, ...(meta === undefined ? [] : [meta]), ...entries.map(e => e.hash)])
    // The control socket is for store commands on a data directory; nobody names a private store.
    if (!temporary) stopControl = await controlled(dir, node, out)
    const ticket = node.ticket(collection.hash, 'hashseq').toString()
    out.say(`imported ${files.length} file${files.length === 1 ? '' : 's'}, ${size(bytes)}, as collection ${toHex(collection.hash)}`)
    out.event({ type: 'ready', ticket, hash: toHex(collection.hash), files: files.length, bytes, store: dir, temporary })
    if (has(parsed, 'ticket-only')) out.result(ticket)
    else {
      out.say('to fetch it elsewhere, run:')
      out.result(`verity get ${ticket}`)
      out.say(`serving ${has(parsed, 'serve-all') ? `all of ${dir}` : 'just that'} until Ctrl-C`)
    }
    await interrupt.interrupted
    out.event({ type: 'stopped' })
    return 0 // Ctrl-C is how send ends
  } finally {
    pin?.release()
    await stopControl()
    await node.stop()
  }
}

/**
 * Files sent in place, and the ones found changed: a request that fails reading one's bytes
 * (they no longer match its hash, or it shrank or is gone) is told to the user once per file, as
 * a warning and a --json event; the receivers get an error from this node for it.
 */
class ChangedFiles {
  private readonly paths = new Map<string, string>()
  private readonly told = new Set<string>()

  constructor (private readonly out: Output) {}

  watch (hash: Uint8Array, path: string): void {
    // The store reads a blob added in place twice from the last path it was added from.
    this.paths.set(toHex(hash), path)
  }

  onEvent (event: ProviderEvent): void {
    if (event.type !== 'aborted' || event.blob === undefined) return
    const hex = toHex(event.blob)
    const path = this.paths.get(hex)
    const how = localFault(event.error)
    if (path === undefined || how === undefined || this.told.has(hex)) return
    this.told.add(hex)
    const shown = relative(process.cwd(), path)
    this.out.warn(`${shown.startsWith('..') || isAbsolute(shown) ? path : shown} ${how} since it was sent; receivers of it get an error`)
    this.out.event({ type: 'changed', file: path, hash: hex, error: `${event.error.name}: ${event.error.message}` })
  }
}

/** How a read of a file sent in place failed because of the file, if it did. */
function localFault (error: Error): string | undefined {
  // LeafHashMismatch and ParentHashMismatch of local data: the bytes no longer match.
  if ((error as { local?: unknown }).local === true) return 'changed'
  // Read past its end (store/fs-file.ts): it shrank.
  if (error instanceof RangeError) return 'changed'
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'was removed'
  return undefined
}

/** One budget for every response of this process: a piece waits until the rate allows it. */
function rateLimiter (bytesPerSecond: number): (ctx: unknown, bytes: number) => Promise<void> {
  let nextAt = performance.now()
  return async (_ctx, bytes) => {
    const now = performance.now()
    const at = Math.max(now, nextAt)
    nextAt = at + bytes / bytesPerSecond * 1000
    if (at > now) await new Promise(resolve => setTimeout(resolve, at - now))
  }
}
