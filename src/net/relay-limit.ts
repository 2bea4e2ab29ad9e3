import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A transfer over a relayed connection stopped because the relay's limit (bytes or time per
 * relayed connection) was hit, and the peers had no direct connection (hole punching failed, or
 * their NATs do not allow it).
 */
export class RelayLimitReached extends Error {
  static override name = 'RelayLimitReached'
  constructor (message = 'the relay\'s limit per relayed connection was hit', options?: ErrorOptions) {
    super(message, options)
    this.name = 'RelayLimitReached'
  }
}

/** Whether an address goes through a relay (has /p2p-circuit). */
export function isRelayed (addr: Multiaddr): boolean {
  return addr.getComponents().some(c => c.name === 'p2p-circuit')
}

/**
 * The relay a relayed address goes through: its address (what comes before /p2p-circuit) and its
 * peer id (that address's last /p2p/), the first IP component's value; undefined for an address
 * that is not relayed.
 */
export function relayOf (addr: Multiaddr): { addr: string, peerId: string | undefined, ip: string | undefined } | undefined {
  const parts = addr.getComponents()
  const circuit = parts.findIndex(c => c.name === 'p2p-circuit')
  if (circuit === -1) return undefined
  const last = parts[circuit - 1]
  const first = parts[0]
  return {
    addr: addr.toString().split('/p2p-circuit')[0] as string,
    peerId: last?.name === 'p2p' ? last.value : undefined,
    ip: first?.name === 'ip4' || first?.name === 'ip6' ? first.value : undefined
  }
}

/**
 * The error a stream on a relayed, limited connection failed with, as RelayLimitReached: the
 * relay resets a connection at its limit, which reaches the stream as a plain reset or an
 * early end. Undefined for a connection that is not relayed with limits (the error stays as it is).
 */
export function relayLimitError (err: unknown, connection: Pick<Connection, 'limits' | 'remoteAddr'> | undefined): RelayLimitReached | undefined {
  if (connection?.limits === undefined || !isRelayed(connection.remoteAddr)) return undefined
  if (err instanceof RelayLimitReached) return err
  // libp2p counts the limits down as bytes go: what is left is no measure of the relay's setting.
  const relay = relayOf(connection.remoteAddr)?.addr as string
  const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return new RelayLimitReached(`the relay ${relay} cut the relayed connection at its limit (bytes or time per relayed connection), and there is no direct connection to the peer (${why})`, { cause: err })
}

/** The RelayLimitReached an error was caused by (protocol errors wrap a stream's failure), if any. */
export function relayLimitCause (err: unknown): RelayLimitReached | undefined {
  for (let at = err, depth = 0; at instanceof Error && depth < 8; at = at.cause, depth++) {
    if (at instanceof RelayLimitReached) return at
  }
  return undefined
}
