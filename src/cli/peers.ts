import { multiaddr } from '@multiformats/multiaddr'
import { resolvePeer, type PeerTarget } from '../net/peer.js'
import { hashOrTicket, UsageError, withDetail, type Target } from './common.js'

/**
 * Peers and addresses as the command line names them, checked before any work: what the
 * libraries would say of a bad one (`String multiaddr must start with "/"`) is said here, once,
 * in the CLI's words, as a usage error naming the option.
 */

/** `--provider` (or `--seed`) values: tickets, or multiaddrs ending in /p2p/<peer id>. */
export function parseProviders (values: string[], name = 'provider'): PeerTarget[] {
  return values.map(value => {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value
    const refused = (why: string): UsageError => new UsageError(`--${name} ${shown} is not a ticket or a multiaddr ending in /p2p/<peer id>: ${why}`)
    // A bare peer id is a peer too, to the library; the command line has no addresses for one.
    if (!/^\s*(\/|blob)/i.test(value)) throw refused('it starts with neither / nor blob')
    try {
      resolvePeer(value)
      return value
    } catch (err) {
      const why = /^\s*blob/i.test(value) ? 'the ticket is cut short or mistyped: copy all of it'
        : isMultiaddr(value) ? 'it does not end in a valid /p2p/<peer id>'
          : 'it is not a multiaddr (such as /ip4/192.168.1.5/udp/4433/quic-v1/p2p/12D3KooW...)'
      throw withDetail(refused(why), (err as Error).message)
    }
  })
}

/** Whether `text` parses as a multiaddr (whatever it ends in). */
function isMultiaddr (text: string): boolean {
  try {
    multiaddr(text.trim())
    return true
  } catch {
    return false
  }
}

/** `--listen` values: multiaddrs such as /ip4/0.0.0.0/tcp/0. */
export function parseListen (values: string[] | undefined): string[] | undefined {
  values?.forEach(value => {
    try {
      multiaddr(value)
    } catch {
      throw new UsageError(`--listen takes a multiaddr such as /ip4/0.0.0.0/tcp/0 or /ip4/0.0.0.0/udp/0/quic-v1, not ${value}`)
    }
  })
  return values
}

/** What to fetch and from whom: a ticket (its node first), or a hash with --provider. */
export function target (text: string, providers: string[]): Target {
  const { hash, format, ticket } = hashOrTicket(text)
  const extra = parseProviders(providers)
  return { hash, format, providers: ticket === undefined ? extra : [ticket, ...extra] }
}

/** A peer as the CLI names it while connecting: its id and the addresses it will be dialled at. */
export function describePeer (target: PeerTarget): { id: string, addrs: string[] } {
  const peer = resolvePeer(target)
  return { id: peer.id, addrs: peer.addrs.map(addr => addr.toString().replace(`/p2p/${peer.id}`, '')) }
}

/** None of the `--listen` addresses could be listened on (not this machine's, a port taken). */
export class ListenFailed extends Error {
  static override name = 'ListenFailed'
  constructor (readonly addrs: string[], message = `cannot listen on ${addrs.join(' ')}: not an address of this machine, or the port is taken; give other --listen addresses (or none: all interfaces, any port)`) {
    super(message)
    this.name = 'ListenFailed'
  }
}

/** `start` (a node listening on `addrs`), with libp2p's refusal to listen said as ListenFailed. */
export async function listening<T> (addrs: string[], start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    if ((err as Error).name === 'UnsupportedListenAddressesError') throw new ListenFailed(addrs)
    throw err
  }
}
