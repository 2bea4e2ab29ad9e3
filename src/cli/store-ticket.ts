import { toHex } from '../../store/hash-text.js'
import { BlobTicket, type SocketAddr } from '../ticket.js'
import { dataDir, has, parseArgs, UsageError } from './common.js'
import { knownFormat, named, withStore, type CommandContext } from './store-context.js'

/** `ip:port`, `[v6]:port`. */
function socketAddr (text: string): SocketAddr {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text)
  if (match === null || Number(match[2]) > 65535) throw new UsageError(`--addr takes ip:port, not ${text}`)
  return { ip: match[1] as string, port: Number(match[2]) }
}

/**
 * `verity ticket <hash>`: a ticket naming this data directory's node at the addresses of the
 * `serve` or `send` running on it (which runs this command, through its control socket, and so
 * can check the blob is there), or at those given with --addr.
 */
export async function ticket (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { collection: {}, addr: { value: true, many: true } })
  if (parsed.positionals.length !== 1) throw new UsageError('ticket takes one hash')
  const given = (parsed.flags.get('addr') ?? []).map(socketAddr)
  return await withStore(parsed, ctx, async (store, out) => {
    const value = await knownFormat(store, named(parsed.positionals[0] as string, has(parsed, 'collection')))
    const status = await store.status(value.hash)
    if (status.status === 'absent') throw new Error(`${toHex(value.hash)} is not in the store`)
    if (status.status === 'partial') out.say(`note: only part of ${toHex(value.hash)} is here; a fetch with this ticket gets what is`)
    let made: BlobTicket
    if (ctx.ticket !== undefined) {
      const running = ctx.ticket(value)
      made = given.length === 0 ? running : new BlobTicket({ nodeId: running.nodeId, addrs: given, hash: value.hash, format: value.format })
    } else {
      if (given.length === 0) throw new Error(`no verity serve or send is running on ${dataDir(parsed)} to answer for the ticket: start verity serve there, or give --addr ip:port`)
      // Loaded here only: the key library is large, and the other store commands do without it.
      const { loadOrCreateIdentity } = await import('../node/identity.js')
      const key = await loadOrCreateIdentity(dataDir(parsed))
      made = new BlobTicket({ nodeId: key.publicKey.raw, addrs: given, hash: value.hash, format: value.format })
    }
    out.event({ type: 'ticket', ticket: made.toString(), hash: toHex(value.hash), format: value.format })
    out.result(made.toString())
    return 0
  })
}
