import { multiaddr } from '@multiformats/multiaddr'
import type { TransportName } from './interface.js'
import { httpOrigin } from './util.js'

/** A seed as the SDK knows it: its id on the ring, and where its `/tasks` is asked. */
export interface SeedRef {
  /** `host:port` for an HTTP seed, the peer id for a libp2p seed (DESIGN: the ring's elements). */
  id: string
  /** `http://host:port`, or the multiaddr ending in `/p2p/<peer id>`. */
  address: string
  transport: TransportName
}

/**
 * A seed given as `host:port` or `http://host:port` (the seed's gateway: `verity serve --seed
 * --http`) or as a multiaddr with its peer id (`/ip4/10.0.0.1/udp/4001/quic-v1/p2p/12D3...`,
 * the seed's `/verity/request/1`). TypeError for anything else.
 */
export function seedRef (seed: string): SeedRef {
  if (typeof seed !== 'string') throw new TypeError(`a seed is host:port, an http URL or a multiaddr with /p2p/<peer id>, got ${typeof seed}`)
  if (!seed.startsWith('/')) {
    const origin = httpOrigin(seed)
    return { id: new URL(origin).host, address: origin, transport: 'http' }
  }
  let peer: string | null | undefined
  try {
    peer = multiaddr(seed).getComponents().reverse().find(c => c.name === 'p2p')?.value
  } catch (err) {
    throw new TypeError(`a seed multiaddr could not be read: ${seed.slice(0, 120)} (${(err as Error).message})`)
  }
  if (peer === undefined || peer === null) throw new TypeError(`a libp2p seed's multiaddr must end with /p2p/<peer id>: ${seed.slice(0, 120)}`)
  return { id: peer, address: seed, transport: 'libp2p' }
}

/** Where `seed`'s `/tasks?<query>` is asked, in its transport's address form. */
export function taskAddress (seed: SeedRef, query: string): string {
  return seed.transport === 'http' ? `${seed.address}/tasks?${query}` : `${seed.address}#/tasks?${query}`
}
