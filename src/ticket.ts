import { isIPv4, isIPv6 } from 'node:net'
import { networkInterfaces } from 'node:os'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { fromString as fromText, toString as toText } from 'uint8arrays'
import { HASH_SIZE } from '../store/bao/constants.js'
import { hashArg } from '../store/bao/validate.js'
import { MalformedMessage } from '../store/codec/errors.js'
import { PostcardReader, PostcardWriter } from '../store/codec/postcard.js'
import type { BlobFormat } from '../store/interface.js'

/** A QUIC-v1 (UDP) endpoint of the node named in a ticket. */
export interface SocketAddr { ip: string, port: number }

/** A ticket that does not parse: wrong prefix, bad base32, unknown variant, short body. */
export class InvalidTicket extends Error {
  static override name = 'InvalidTicket'
  constructor (message = 'invalid ticket') {
    super(message)
    this.name = 'InvalidTicket'
  }
}

const PREFIX = 'blob'
const VARIANT = 0
/**
 * The start of verity's trailer after the hash, the node's other libp2p addresses (TCP, relayed):
 * "va" and a version, so other bytes there (iroh ignores them) are not mistaken for one.
 */
const ADDRS_TRAILER = [0x76, 0x61, 0x01] as const
/** Libp2p addresses a ticket carries at most, and bytes of one. */
export const MAX_TICKET_MULTIADDRS = 16
const MAX_MULTIADDR_BYTES = 512

/**
 * A blob ticket (PROTOCOL.md section 6): "blob" + lowercase unpadded base32 of postcard
 * `00 id(32) Option<relay-url> Set<SocketAddr> format(varint) hash(32)`; iroh reads it too.
 * verity's addresses that are no QUIC socket address (TCP, and relayed ones through a circuit
 * relay) follow the hash as a trailer, `76 61 01 count(varint) (len(varint) multiaddr-bytes)*`, each
 * without the node's own /p2p/<id> (the id says it): iroh, and verity before it, ignore bytes
 * after the hash. docs/reachability.md says what changes a ticket.
 */
export class BlobTicket {
  readonly nodeId: Uint8Array
  readonly addrs: readonly SocketAddr[]
  readonly hash: Uint8Array
  readonly format: BlobFormat
  readonly relayUrl: string | undefined
  /** The node's TCP and relayed (`.../p2p/<relay>/p2p-circuit`) addresses, direct ones first; no /p2p/<node id> at the end. */
  readonly multiaddrs: readonly Multiaddr[]

  constructor (init: { nodeId: Uint8Array, addrs?: SocketAddr[], multiaddrs?: Array<Multiaddr | string>, hash: Uint8Array, format?: BlobFormat, relayUrl?: string }) {
    this.nodeId = hashArg('nodeId', init.nodeId)
    this.hash = hashArg('hash', init.hash)
    this.format = init.format ?? 'raw'
    if (this.format !== 'raw' && this.format !== 'hashseq') throw new TypeError(`format must be 'raw' or 'hashseq', got ${String(this.format)}`)
    this.relayUrl = init.relayUrl === undefined ? undefined : new URL(init.relayUrl).toString()
    this.addrs = sortAddrs(init.addrs ?? [])
    this.multiaddrs = ticketMultiaddrs(init.multiaddrs ?? [])
  }

  toBytes (): Uint8Array {
    const writer = new PostcardWriter().byte(VARIANT).bytes(this.nodeId)
    if (this.relayUrl === undefined) {
      writer.byte(0)
    } else {
      const url = new TextEncoder().encode(this.relayUrl)
      writer.byte(1).varint(url.length).bytes(url)
    }
    writer.varint(this.addrs.length)
    for (const addr of this.addrs) {
      const ip = ipBytes(addr.ip)
      writer.byte(ip.length === 4 ? 0 : 1).bytes(ip).varint(addr.port)
    }
    writer.varint(this.format === 'hashseq' ? 1 : 0).bytes(this.hash)
    if (this.multiaddrs.length > 0) {
      for (const byte of ADDRS_TRAILER) writer.byte(byte)
      writer.varint(this.multiaddrs.length)
      for (const addr of this.multiaddrs) writer.varint(addr.bytes.length).bytes(addr.bytes)
    }
    return writer.finish()
  }

  toString (): string {
    return PREFIX + toText(this.toBytes(), 'base32')
  }

  /**
   * Parses a ticket. Surrounding whitespace (a pasted newline) is ignored, and the prefix and the
   * base32 may be in either case (some chat programs and QR readers upper-case them).
   */
  static parse (text: string): BlobTicket {
    if (typeof text !== 'string') throw new TypeError(`ticket must be a string, got ${typeof text}`)
    const trimmed = text.trim()
    if (trimmed.slice(0, PREFIX.length).toLowerCase() !== PREFIX) throw new InvalidTicket(`a blob ticket starts with "${PREFIX}", got ${JSON.stringify(trimmed.slice(0, 12))}`)
    const body = trimmed.slice(PREFIX.length).toLowerCase()
    if (!/^[a-z2-7]+$/.test(body)) throw new InvalidTicket('ticket is not valid base32 (letters a-z and digits 2-7 after "blob")')
    let bytes: Uint8Array
    try {
      bytes = fromText(body, 'base32')
    } catch {
      throw new InvalidTicket('ticket is not valid base32')
    }
    return BlobTicket.fromBytes(bytes)
  }

  /** After the hash, verity's trailer of addresses is read; anything else is ignored, as iroh does. */
  static fromBytes (bytes: Uint8Array): BlobTicket {
    const reader = new PostcardReader(bytes)
    try {
      const variant = reader.byte()
      if (variant !== VARIANT) throw new InvalidTicket(`unknown ticket variant ${variant}`)
      const nodeId = reader.take(HASH_SIZE).slice()
      let relayUrl: string | undefined
      const hasRelay = reader.byte()
      if (hasRelay === 1) relayUrl = new TextDecoder('utf-8', { fatal: true }).decode(reader.take(reader.varint(reader.remaining)))
      else if (hasRelay !== 0) throw new InvalidTicket(`bad relay option tag ${hasRelay}`)
      const count = reader.varint(reader.remaining)
      const addrs: SocketAddr[] = []
      for (let i = 0; i < count; i++) {
        const kind = reader.byte()
        if (kind !== 0 && kind !== 1) throw new InvalidTicket(`bad socket address kind ${kind}`)
        const ip = ipText(reader.take(kind === 0 ? 4 : 16))
        addrs.push({ ip, port: reader.varint(65535) })
      }
      const format = reader.varint()
      if (format > 1) throw new InvalidTicket(`unknown blob format ${format}`)
      const hash = reader.take(HASH_SIZE).slice()
      const multiaddrs: Multiaddr[] = []
      if (reader.remaining >= ADDRS_TRAILER.length && ADDRS_TRAILER.every(byte => reader.byte() === byte)) {
        const n = reader.varint(MAX_TICKET_MULTIADDRS)
        for (let i = 0; i < n; i++) {
          try {
            multiaddrs.push(multiaddr(reader.take(reader.varint(MAX_MULTIADDR_BYTES)).slice()))
          } catch (err) {
            if (err instanceof MalformedMessage) throw err
            throw new InvalidTicket(`ticket address ${i + 1} is not a multiaddr: ${(err as Error).message}`)
          }
        }
      }
      return new BlobTicket({ nodeId, addrs, multiaddrs, hash, format: format === 1 ? 'hashseq' : 'raw', ...(relayUrl === undefined ? {} : { relayUrl }) })
    } catch (err) {
      if (err instanceof MalformedMessage || err instanceof TypeError) throw new InvalidTicket(`ticket does not decode: ${err.message}`)
      throw err
    }
  }
}

/** IPv4 before IPv6, then by address bytes, then by port; duplicates dropped. */
function sortAddrs (addrs: SocketAddr[]): SocketAddr[] {
  const keyed = addrs.map(addr => {
    if (!Number.isInteger(addr.port) || addr.port < 0 || addr.port > 65535) throw new RangeError(`port must be 0..65535, got ${addr.port}`)
    const ip = ipBytes(addr.ip)
    return { addr: { ip: ipText(ip), port: addr.port }, key: [ip.length === 4 ? 0 : 1, ...ip, addr.port] }
  })
  keyed.sort((a, b) => {
    for (let i = 0; i < Math.min(a.key.length, b.key.length); i++) {
      const d = (a.key[i] as number) - (b.key[i] as number)
      if (d !== 0) return d
    }
    return a.key.length - b.key.length
  })
  return keyed.filter((k, i) => i === 0 || k.key.join() !== (keyed[i - 1] as { key: number[] }).key.join()).map(k => k.addr)
}

/** 4 bytes for IPv4 text, 16 for IPv6 text (with `::` and an embedded IPv4 tail). */
export function ipBytes (ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number))
  if (!isIPv6(ip)) throw new RangeError(`not an IP address: ${JSON.stringify(ip)}`)
  let text = ip.split('%')[0] as string
  let tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = text.slice(lastColon + 1).split('.').map(Number)
    tail = [((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number)]
    text = text.slice(0, lastColon + 1) + '0:0' // two words, overwritten below
  }
  const [head, rest] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined]
  const parse = (part: string): number[] => part === '' ? [] : part.split(':').map(word => parseInt(word, 16))
  const left = parse(head)
  const right = rest === undefined ? [] : parse(rest)
  let words = rest === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right]
  if (tail.length > 0) words = [...words.slice(0, 6), ...tail]
  const out = new Uint8Array(16)
  words.forEach((word, i) => { out[2 * i] = word >> 8; out[2 * i + 1] = word & 0xff })
  return out
}

function ipText (bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.')
  const words: string[] = []
  for (let i = 0; i < 16; i += 2) words.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16))
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::')
}

/** The QUIC-v1 endpoints among the node's addresses, as a ticket holds them. */
export function quicAddrs (addrs: Multiaddr[]): SocketAddr[] {
  const out: SocketAddr[] = []
  for (const addr of addrs) {
    const parts = addr.getComponents()
    const ip = parts[0]
    const udp = parts[1]
    if (ip === undefined || udp?.name !== 'udp' || parts[2]?.name !== 'quic-v1') continue
    // Nothing after but the node's own id: not a relayed address, nor webtransport.
    if (parts.length > 4 || (parts.length === 4 && parts[3]?.name !== 'p2p')) continue
    if ((ip.name !== 'ip4' && ip.name !== 'ip6') || ip.value === undefined || udp.value === undefined) continue
    out.push({ ip: ip.value, port: Number(udp.value) })
  }
  return out
}

/**
 * A ticket's libp2p addresses: parsed, each without a trailing /p2p/ (the node's id is the
 * ticket's), direct ones before relayed ones, duplicates dropped, at most MAX_TICKET_MULTIADDRS.
 */
function ticketMultiaddrs (given: Array<Multiaddr | string>): Multiaddr[] {
  const seen = new Set<string>()
  const out: Multiaddr[] = []
  for (const item of given) {
    let addr = typeof item === 'string' ? multiaddr(item) : item
    // The last /p2p/ (code 421) names the node itself; a relayed address keeps its relay's.
    if (addr.getComponents().at(-1)?.name === 'p2p') addr = addr.decapsulateCode(421)
    if (addr.bytes.length > MAX_MULTIADDR_BYTES) throw new RangeError(`a ticket address is at most ${MAX_MULTIADDR_BYTES} bytes, got ${addr.bytes.length}`)
    const key = addr.toString()
    if (seen.has(key)) continue
    seen.add(key)
    out.push(addr)
  }
  const relayed = (a: Multiaddr): number => a.getComponents().some(c => c.name === 'p2p-circuit') ? 1 : 0
  out.sort((a, b) => relayed(a) - relayed(b))
  if (out.length > MAX_TICKET_MULTIADDRS) throw new RangeError(`a ticket carries at most ${MAX_TICKET_MULTIADDRS} libp2p addresses, got ${out.length}`)
  return out
}

/** The node's addresses a ticket holds beside its QUIC socket addresses: TCP and relayed ones. */
export function otherAddrs (addrs: Multiaddr[]): Multiaddr[] {
  return addrs.filter(addr => {
    const names = addr.getComponents().map(c => c.name)
    if (names.includes('p2p-circuit')) return true
    return (names[0] === 'ip4' || names[0] === 'ip6' || names[0] === 'dns4' || names[0] === 'dns6' || names[0] === 'dns') && names[1] === 'tcp' && !names.includes('ws') && !names.includes('wss')
  })
}

/**
 * The node's addresses for a ticket: libp2p's, and for each wildcard listen address (0.0.0.0, ::)
 * every interface address on its port. libp2p announces a public address only once AutoNAT
 * confirmed it (so a node on a public IP would print a ticket with 127.0.0.1 alone); a ticket is
 * handed out by hand, and the receiver tries each address.
 */
export function withInterfaceAddrs (addrs: Multiaddr[], listen: string[]): Multiaddr[] {
  const wild = { ip4: listen.some(a => a.startsWith('/ip4/0.0.0.0/')), ip6: listen.some(a => a.startsWith('/ip6/::/')) }
  const loopback = { ip4: '127.0.0.1', ip6: '::1' }
  const interfaces = Object.values(networkInterfaces()).flat().filter((i): i is NonNullable<typeof i> => i !== undefined && !i.internal && !i.address.startsWith('fe80'))
  const out = [...addrs]
  for (const addr of addrs) {
    const first = addr.getComponents()[0]
    if (first === undefined || (first.name !== 'ip4' && first.name !== 'ip6') || !wild[first.name] || first.value !== loopback[first.name]) continue
    if (addr.getComponents().some(c => c.name === 'p2p-circuit')) continue
    const rest = addr.toString().slice(`/${first.name}/${first.value}`.length)
    for (const i of interfaces) {
      if ((i.family === 'IPv4') === (first.name === 'ip4')) out.push(multiaddr(`/${first.name}/${i.address}${rest}`))
    }
  }
  return [...new Map(out.map(a => [a.toString(), a])).values()]
}
