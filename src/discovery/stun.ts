import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { isIP, isIPv4, isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { StunServerFailed } from './errors.js'

/**
 * A STUN responder (RFC 8489 Binding, the part ICE needs): it answers each Binding request with
 * the address and port it came from, so that a node behind NAT learns the public mapping of the
 * UDP socket its WebRTC agent punches holes with (docs/reachability.md). `verity serve --relay
 * --stun-server <ip:port>` runs one beside the relay; nodes name it with `--stun`.
 *
 * Every datagram is a stranger's: anything but a well-formed Binding request is dropped unread,
 * an answer is never much larger than the request (32 or 44 bytes against at least 20), and at
 * most `maxPerSecond` answers leave per second, so the responder cannot be turned into a flood.
 */
export interface StunServerInit {
  /** Address to bind: an IP address of this machine, not a name. @default '0.0.0.0' */
  host?: string
  /** UDP port; 0 picks one. @default 3478 */
  port?: number
  /** Answers per second at most, all senders together; requests past it are dropped. @default 2000 */
  maxPerSecond?: number
}

/** A started STUN responder. Throws StunServerFailed if its address cannot be bound. */
export interface StunServer {
  /** The address and port bound. */
  readonly address: { host: string, port: number }
  /** Requests answered and datagrams dropped (malformed, not a Binding request, or over the rate). */
  readonly counts: { answered: number, dropped: number }
  close: () => Promise<void>
}

const MAGIC = 0x2112a442
const HEADER = 20
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const XOR_MAPPED_ADDRESS = 0x0020
/** RFC 8489 keeps a STUN message over UDP within 548 bytes unless the path is known to allow more. */
const MAX_REQUEST = 548

/** The answer to `request` (a Binding request from `from`), or undefined for anything else. */
export function bindingResponse (request: Uint8Array, from: { address: string, port: number }): Uint8Array | undefined {
  if (request.length < HEADER || request.length > MAX_REQUEST) return undefined
  const view = new DataView(request.buffer, request.byteOffset, request.byteLength)
  const type = view.getUint16(0)
  const length = view.getUint16(2)
  if (type !== BINDING_REQUEST || view.getUint32(4) !== MAGIC || length !== request.length - HEADER || length % 4 !== 0) return undefined
  // A dual-stack socket (bound to ::) sees an IPv4 sender as ::ffff:a.b.c.d: answer it as IPv4.
  const address = /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(from.address) ? from.address.slice(7) : from.address
  const addrBytes = ipBytes(address)
  if (addrBytes === undefined) return undefined
  const v4 = addrBytes.length === 4
  const value = 4 + addrBytes.length
  const out = new Uint8Array(HEADER + 4 + value)
  const o = new DataView(out.buffer)
  o.setUint16(0, BINDING_SUCCESS)
  o.setUint16(2, 4 + value)
  o.setUint32(4, MAGIC)
  out.set(request.subarray(8, HEADER), 8) // the transaction id
  o.setUint16(HEADER, XOR_MAPPED_ADDRESS)
  o.setUint16(HEADER + 2, value)
  o.setUint8(HEADER + 5, v4 ? 0x01 : 0x02)
  o.setUint16(HEADER + 6, from.port ^ (MAGIC >>> 16))
  // The address XORed with the magic cookie, then (IPv6) the transaction id: out[4..20) holds both.
  for (let i = 0; i < addrBytes.length; i++) out[HEADER + 8 + i] = (addrBytes[i] as number) ^ (out[4 + i] as number)
  return out
}

/**
 * An IP address's bytes (4 or 16), by multiaddr's own conversion; undefined for anything that is
 * not one. A zone id (fe80::1%eth0) names the interface, not the address.
 */
function ipBytes (text: string): Uint8Array | undefined {
  const address = text.split('%')[0] as string
  const kind = isIPv4(address) ? 'ip4' : isIPv6(address) ? 'ip6' : undefined
  if (kind === undefined) return undefined
  return multiaddr(`/${kind}/${address}`).bytes.subarray(1) // after the one-byte protocol code
}

/**
 * The responder's settings, each set and checked (an IP address of this machine, not a name; a
 * port from 0 to 65535): TypeError or RangeError. createNode checks them before it writes anything.
 */
export function stunServerSettings (init: StunServerInit = {}): Required<StunServerInit> {
  const settings = { host: init.host ?? '0.0.0.0', port: init.port ?? 3478, maxPerSecond: init.maxPerSecond ?? 2000 }
  if (typeof settings.host !== 'string' || isIP(settings.host) === 0) throw new TypeError(`stunServer.host must be an IP address, got ${String(settings.host).slice(0, 80)}`)
  if (!(Number.isSafeInteger(settings.port) && settings.port >= 0 && settings.port <= 65535)) throw new RangeError(`stunServer.port must be a whole number from 0 to 65535, got ${String(settings.port)}`)
  if (!(Number.isSafeInteger(settings.maxPerSecond) && settings.maxPerSecond > 0)) throw new RangeError(`stun maxPerSecond must be a positive integer, got ${String(settings.maxPerSecond)}`)
  return settings
}

/** Starts a STUN responder; resolves once it is bound. */
export async function startStunServer (init: StunServerInit = {}): Promise<StunServer> {
  const { host, port, maxPerSecond } = stunServerSettings(init)
  const socket: Socket = createSocket(isIPv4(host) ? 'udp4' : 'udp6')
  const counts = { answered: 0, dropped: 0 }
  let second = 0
  let sent = 0
  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    const now = Math.floor(Date.now() / 1000)
    if (now !== second) { second = now; sent = 0 }
    const answer = sent < maxPerSecond ? bindingResponse(message, from) : undefined
    if (answer === undefined) { counts.dropped++; return }
    sent++
    counts.answered++
    socket.send(answer, from.port, from.address)
  })
  socket.on('error', () => {}) // a send to an unreachable sender (ICMP) must not end the process
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, host, () => { socket.off('error', reject); resolve() })
    })
  } catch (err) {
    socket.close()
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new StunServerFailed(`cannot answer STUN on ${host}:${port} (udp): ${code}`, { cause: err })
  }
  const bound = socket.address()
  let closed: Promise<void> | undefined
  return {
    address: { host: bound.address, port: bound.port },
    counts,
    close: async () => { closed ??= new Promise<void>(resolve => { socket.close(() => { resolve() }) }); await closed }
  }
}
