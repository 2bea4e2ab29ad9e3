import { createNode } from '../node/create-node.js'
import { toHex } from '../../store/hash-text.js'
import { dataDir, flag, has, interruptSignal, Output, parseArgs, parseRate, size, UsageError } from './common.js'
import { filesOf } from './files.js'
import { controlled } from './control.js'

/** Everything on all interfaces, so the ticket works from another machine. */
export const SEND_LISTEN = ['/ip4/0.0.0.0/udp/0/quic-v1', '/ip4/0.0.0.0/tcp/0']

/**
 * `verity send <path...>`: import files (by reference unless --copy) as one collection, print the
 * `verity get <ticket>` line, serve until interrupted.
 */
export async function send (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, { 'ticket-only': {}, copy: {}, listen: { value: true, many: true }, 'limit-rate': { value: true } })
  if (parsed.positionals.length === 0) throw new UsageError('verity send needs at least one file or directory')
  const out = new Output(parsed)
  const files = (await Promise.all(parsed.positionals.map(filesOf))).flat()
  const names = new Set<string>()
  for (const file of files) {
    if (names.has(file.name)) throw new UsageError(`two files would both be named ${file.name}`)
    names.add(file.name)
  }
  const interrupt = interruptSignal()
  const dir = dataDir(parsed)
  let stopControl = async (): Promise<void> => {}
  const limit = flag(parsed, 'limit-rate')
  const node = await createNode({
    dataDir: dir,
    listen: parsed.flags.get('listen') ?? SEND_LISTEN,
    ...(limit === undefined ? {} : { provide: { throttleSend: rateLimiter(parseRate(limit, 'limit-rate')) } })
  })
  try {
    let bytes = 0
    const entries = []
    for (const file of files) {
      interrupt.signal.throwIfAborted()
      const added = await node.blobs.addFile(file.path, { mode: has(parsed, 'copy') ? 'copy' : 'reference', tag: false, signal: interrupt.signal })
      bytes += added.size
      entries.push({ name: file.name, hash: added.hash })
      if (out.verbose) out.say(`${toHex(added.hash)}  ${file.name}`)
    }
    stopControl = await controlled(dir, node, out)
    const collection = await node.blobs.addCollection(entries, { tag: `send-${new Date().toISOString()}` })
    const ticket = node.ticket(collection.hash, 'hashseq').toString()
    out.say(`imported ${files.length} file${files.length === 1 ? '' : 's'}, ${size(bytes)}, as collection ${toHex(collection.hash)}`)
    out.event({ type: 'ready', ticket, hash: toHex(collection.hash), files: files.length, bytes })
    if (has(parsed, 'ticket-only')) out.result(ticket)
    else {
      out.say('to fetch it elsewhere, run:')
      out.result(`verity get ${ticket}`)
      out.say('serving until Ctrl-C')
    }
    await interrupt.interrupted
    out.event({ type: 'stopped' })
    return 0 // Ctrl-C is how send ends
  } finally {
    interrupt.dispose()
    await stopControl()
    await node.stop()
  }
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
