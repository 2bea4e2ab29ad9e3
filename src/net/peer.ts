import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { BlobTicket } from '../ticket.js'

/**
 * Whom to talk to: a blob ticket (parsed, or its text: its QUIC, TCP and relayed addresses are tried), a multiaddr
 * ending in /p2p/<id> (parsed, or its text), a peer id the node already knows addresses for
 * (parsed, or its text), or a peer id with addresses (text or parsed, with or without /p2p/<id>).
 */
export type PeerTarget = string | Multiaddr | PeerId | BlobTicket | { peerId: string | PeerId, addrs: Array<Multiaddr | string> }

/** What was given as a peer is none of the forms a `PeerTarget` may take; the message says what it was. */
export class InvalidPeer extends Error {
  static override name = 'InvalidPeer'
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidPeer'
  }
}

export interface ResolvedPeer {
  /** The peer id as text: the pool's key. */
  id: string
  peerId: PeerId
  /** Addresses to dial, each with /p2p/<id>; empty when libp2p already knows the peer. */
  addrs: Multiaddr[]
}

/**
 * A target in the one shape the pool dials. Text is trimmed first (a ticket pasted with its
 * newline works); text starting with "blob" in any case is a ticket, with "/" a multiaddr, and
 * anything else a peer id. Throws InvalidTicket for a ticket that does not parse and InvalidPeer
 * for everything else that is not a peer.
 */
export function resolvePeer (target: PeerTarget): ResolvedPeer {
  if (target instanceof BlobTicket) return fromTicket(target)
  if (typeof target === 'string') return fromText(target)
  if (isMultiaddr(target)) return fromAddrs([target])
  if (isPeerId(target)) return { id: target.toString(), peerId: target, addrs: [] }
  if (typeof target === 'object' && target !== null && 'peerId' in target && 'addrs' in target) {
    const peerId = typeof target.peerId === 'string' ? parsePeerId(target.peerId.trim()) : target.peerId
    if (!isPeerId(peerId)) throw new InvalidPeer(`peerId must be a peer id or its text, got ${describe(peerId)}`)
    if (!Array.isArray(target.addrs)) throw new InvalidPeer(`addrs must be an array of multiaddrs, got ${describe(target.addrs)}`)
    const addrs = target.addrs.map(a => {
      const addr = typeof a === 'string' ? parseMultiaddr(a.trim()) : a
      if (!isMultiaddr(addr)) throw new InvalidPeer(`addrs must hold multiaddrs or their text, got ${describe(a)}`)
      const id = peerOf(addr)
      if (id !== undefined && id !== peerId.toString()) throw new InvalidPeer(`address ${addr.toString()} names peer ${id}, not ${peerId.toString()}`)
      return withPeer(addr, peerId.toString())
    })
    return { id: peerId.toString(), peerId, addrs }
  }
  throw new InvalidPeer(`a peer is a ticket, a multiaddr, a peer id or { peerId, addrs }, got ${describe(target)}`)
}

/** The ticket a target is or spells, if it is one (text that starts with "blob" must parse). */
export function ticketOf (target: PeerTarget): BlobTicket | undefined {
  if (target instanceof BlobTicket) return target
  if (typeof target === 'string' && target.trim().slice(0, 4).toLowerCase() === 'blob') return BlobTicket.parse(target)
  return undefined
}

function fromText (raw: string): ResolvedPeer {
  const text = raw.trim()
  if (text === '') throw new InvalidPeer('a peer was given as an empty string')
  if (text.slice(0, 4).toLowerCase() === 'blob') return fromTicket(BlobTicket.parse(text))
  if (text.startsWith('/')) return fromAddrs([parseMultiaddr(text)])
  const peerId = parsePeerId(text)
  return { id: peerId.toString(), peerId, addrs: [] }
}

function fromTicket (ticket: BlobTicket): ResolvedPeer {
  const peerId = peerIdFromPublicKey(publicKeyFromRaw(ticket.nodeId))
  const addrs = ticket.addrs.map(a => multiaddr(`/${a.ip.includes(':') ? 'ip6' : 'ip4'}/${a.ip}/udp/${a.port}/quic-v1/p2p/${peerId.toString()}`))
  // Then its TCP and relayed addresses (a relayed one last: libp2p tries it once direct ones fail).
  for (const addr of ticket.multiaddrs) addrs.push(addr.encapsulate(`/p2p/${peerId.toString()}`))
  return { id: peerId.toString(), peerId, addrs }
}

function parseMultiaddr (text: string): Multiaddr {
  try {
    return multiaddr(text)
  } catch (err) {
    throw new InvalidPeer(`not a multiaddr: ${clip(text)} (${(err as Error).message})`, { cause: err })
  }
}

function parsePeerId (text: string): PeerId {
  try {
    return peerIdFromString(text)
  } catch (err) {
    throw new InvalidPeer(`not a peer id, a multiaddr (starting with "/") or a ticket (starting with "blob"): ${clip(text)}`, { cause: err })
  }
}

function isPeerId (value: unknown): value is PeerId {
  return typeof value === 'object' && value !== null && typeof (value as PeerId).toMultihash === 'function' && typeof (value as PeerId).type === 'string'
}

/** What a bad argument was, for a message: a string clipped, anything else by its type. */
function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(clip(value))
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 5))}`
  return typeof value
}

function clip (text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function fromAddrs (addrs: Multiaddr[]): ResolvedPeer {
  const id = peerOf(addrs[0] as Multiaddr)
  if (id === undefined) throw new InvalidPeer(`multiaddr ${String(addrs[0])} must end in /p2p/<peer id> (or give { peerId, addrs })`)
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
