import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { BlobTicket } from '../ticket.js'

/**
 * Whom to talk to: a multiaddr ending in /p2p/<id> (text or parsed), a peer id the node already
 * knows addresses for, a blob ticket (its QUIC addresses are tried), or an id with addresses.
 */
export type PeerTarget = string | Multiaddr | PeerId | BlobTicket | { peerId: string | PeerId, addrs: Array<Multiaddr | string> }

export interface ResolvedPeer {
  /** The peer id as text: the pool's key. */
  id: string
  peerId: PeerId
  /** Addresses to dial, each with /p2p/<id>; empty when libp2p already knows the peer. */
  addrs: Multiaddr[]
}

export function resolvePeer (target: PeerTarget): ResolvedPeer {
  if (target instanceof BlobTicket) {
    const peerId = peerIdFromPublicKey(publicKeyFromRaw(target.nodeId))
    const addrs = target.addrs.map(a => multiaddr(`/${a.ip.includes(':') ? 'ip6' : 'ip4'}/${a.ip}/udp/${a.port}/quic-v1/p2p/${peerId.toString()}`))
    return { id: peerId.toString(), peerId, addrs }
  }
  if (typeof target === 'string') {
    if (target.startsWith('/')) return fromAddrs([multiaddr(target)])
    const peerId = peerIdFromString(target)
    return { id: peerId.toString(), peerId, addrs: [] }
  }
  if (isMultiaddr(target)) return fromAddrs([target])
  if ('addrs' in target && 'peerId' in target && !('toMultihash' in target)) {
    const peerId = typeof target.peerId === 'string' ? peerIdFromString(target.peerId) : target.peerId
    const addrs = target.addrs.map(a => withPeer(typeof a === 'string' ? multiaddr(a) : a, peerId.toString()))
    return { id: peerId.toString(), peerId, addrs }
  }
  const peerId = target as PeerId
  return { id: peerId.toString(), peerId, addrs: [] }
}

function fromAddrs (addrs: Multiaddr[]): ResolvedPeer {
  const id = peerOf(addrs[0] as Multiaddr)
  if (id === undefined) throw new TypeError(`multiaddr ${String(addrs[0])} must end in /p2p/<peer id>`)
  return { id, peerId: peerIdFromString(id), addrs }
}

function peerOf (addr: Multiaddr): string | undefined {
  return addr.getComponents().find(c => c.name === 'p2p')?.value
}

function withPeer (addr: Multiaddr, id: string): Multiaddr {
  return peerOf(addr) === undefined ? addr.encapsulate(`/p2p/${id}`) : addr
}

function isMultiaddr (value: unknown): value is Multiaddr {
  return typeof value === 'object' && value !== null && typeof (value as Multiaddr).getComponents === 'function'
}
