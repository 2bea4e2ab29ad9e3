import type { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { webRTC } from '@libp2p/webrtc'
import { multiaddr } from '@multiformats/multiaddr'
import { RelayReservationFailed } from './errors.js'
import { stunServerSettings, type StunServerInit } from './stun.js'

/**
 * What a relay (`verity serve --relay`) lets others use of it. A relayed connection is reset by
 * the relay once it carried `maxBytesPerConnection` (both directions together) or lived
 * `maxDurationMs`; the transfer on it then fails with RelayLimitReached.
 */
export interface RelayServerInit {
  /** Peers holding a slot (a reservation) at once; more are refused. @default 15 */
  maxReservations?: number
  /** Bytes one relayed connection carries at most. @default 134217728 (128 MiB) */
  maxBytesPerConnection?: number
  /** How long one relayed connection lives at most. @default 300000 (5 min) */
  maxDurationMs?: number
  /** How long a reservation lasts before the node behind NAT must renew it (libp2p renews it). @default 3600000 */
  reservationTtlMs?: number
}

/**
 * Reaching nodes behind NAT with libp2p's own pieces (docs/reachability.md): offer a relay
 * (circuit relay v2), reserve slots on relays, upgrade relayed connections to direct ones by hole
 * punching (DCUtR), and (only when asked) ask peers whether this node's addresses are reachable (AutoNAT).
 */
export interface ReachabilityInit {
  /** Be a relay for others, with these limits. */
  relay?: RelayServerInit
  /** Relays to reserve a slot on: multiaddrs ending in /p2p/<relay's peer id>. @default [] */
  relayVia?: string[]
  /**
   * Reserve slots on this many relays found through the DHT (needs `dht`): libp2p looks among
   * the peers it meets (DHT lookups and its random walk) for ones that offer a relay. The slots
   * come after start; `waitForRelayed` waits for one. @default 0
   */
  discoverRelays?: number
  /**
   * Upgrade relayed connections to direct ones where the NATs allow: dial and accept libp2p's
   * WebRTC (private to private: the offer and answer go through the relay, then ICE punches the
   * hole; a node with `relayVia` listens on `<relay>/p2p-circuit/webrtc`), and run DCUtR.
   * @default true when relayVia or stun is given or the node is a relay
   */
  holePunch?: boolean
  /**
   * STUN servers (`host:port` or `stun:host:port`) the WebRTC agent asks for the public side of
   * its UDP socket; without one, only peers on the same network are reached directly. Nothing is
   * asked unless given. @default []
   */
  stun?: string[]
  /** Answer STUN Binding requests on this UDP address (a relay's usual companion; stun.ts). */
  stunServer?: StunServerInit
  /**
   * Run libp2p's AutoNAT (v1). Off by default: in @libp2p/autonat 3.0.28 a node answering a
   * dial-back request that finds it already connected to the asker closes that connection when
   * done, which drops a relay reservation held on it (seen in the NAT test; docs/reachability.md).
   * @default false
   */
  autoNat?: boolean
}

export const RELAY_DEFAULTS = {
  maxReservations: 15,
  maxBytesPerConnection: 128 * 1024 * 1024,
  maxDurationMs: 5 * 60_000,
  reservationTtlMs: 60 * 60_000
} as const satisfies Required<RelayServerInit>

/** The relay's settings, each set and checked. */
export function relaySettings (init: RelayServerInit): Required<RelayServerInit> {
  const settings = { ...RELAY_DEFAULTS, ...Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)) }
  for (const [name, value] of Object.entries(settings)) {
    if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`relay.${name} must be a positive integer, got ${String(value)}`)
  }
  return settings
}

/**
 * The listen addresses that reserve a slot on each relay: `<relay>/p2p-circuit`. Throws TypeError
 * for a relay address that does not end in /p2p/<peer id>.
 */
export function relayListenAddrs (relayVia: string[]): string[] {
  return relayVia.map(text => {
    const addr = multiaddr(text)
    if (addr.getComponents().at(-1)?.name !== 'p2p') throw new TypeError(`a relay is a multiaddr ending in /p2p/<peer id>, got ${text}`)
    return `${addr.toString()}/p2p-circuit`
  })
}

/**
 * Every reachability setting that can be checked without touching anything (relay limits, relay
 * addresses, the count to discover, STUN servers, the STUN responder's address): TypeError or
 * RangeError for the first that is wrong. createNode calls it before it writes an identity or
 * opens a store, so a bad option leaves the data directory as it was.
 */
export function checkReachability (init: ReachabilityInit | undefined, hasDht: boolean): void {
  if (init === undefined) return
  if (init.relay !== undefined) relaySettings(init.relay)
  relayListenAddrs(init.relayVia ?? [])
  discoveredRelayListenAddrs(init, hasDht)
  for (const text of init.stun ?? []) stunUrl(text)
  if (init.stunServer !== undefined) stunServerSettings(init.stunServer)
}

/** Beside the relayed listen addresses: accept WebRTC connections signalled through them. */
export function holePunchListenAddrs (init: ReachabilityInit | undefined): string[] {
  return punchesHoles(init) && behindRelay(init) ? ['/webrtc'] : []
}

/** The listen addresses that reserve slots on relays found through the DHT: a bare /p2p-circuit each. */
export function discoveredRelayListenAddrs (init: ReachabilityInit | undefined, hasDht: boolean): string[] {
  const count = init?.discoverRelays ?? 0
  if (!(Number.isSafeInteger(count) && count >= 0 && count <= 8)) throw new RangeError(`reachability.discoverRelays must be a whole number from 0 to 8, got ${String(count)}`)
  if (count > 0 && !hasDht) throw new TypeError('reachability.discoverRelays finds relays through the DHT: give the node a dht too')
  return new Array<string>(count).fill('/p2p-circuit')
}

/**
 * The libp2p services reachability needs (relayTransport beside them); none without `init`. Their
 * packages are loaded here, for a node that asks for them (see holePunchTransport).
 */
export async function reachabilityServices (init: ReachabilityInit | undefined, hasIdentify: boolean): Promise<Record<string, unknown>> {
  const services: Record<string, unknown> = {}
  if (init === undefined) return services
  const holePunch = punchesHoles(init)
  if (init.relay !== undefined) {
    const relay = relaySettings(init.relay)
    const { circuitRelayServer } = await import('@libp2p/circuit-relay-v2')
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: relay.maxReservations,
        reservationTtl: relay.reservationTtlMs,
        applyDefaultLimit: true,
        defaultDataLimit: BigInt(relay.maxBytesPerConnection),
        defaultDurationLimit: relay.maxDurationMs
      }
    })
  }
  // The relay transport needs identify, whatever else is on.
  if (!hasIdentify) services.identify = identify()
  if (init.autoNat === true) services.autoNAT = (await import('@libp2p/autonat')).autoNAT()
  if (holePunch) services.dcutr = (await import('@libp2p/dcutr')).dcutr()
  return services
}

/** Whether the node dials and accepts WebRTC connections (hole punching). */
export function punchesHoles (init: ReachabilityInit | undefined): boolean {
  return init !== undefined && (init.holePunch ?? (behindRelay(init) || init.relay !== undefined || (init.stun?.length ?? 0) > 0))
}

/** Whether the node reserves relay slots, named or found. */
function behindRelay (init: ReachabilityInit | undefined): boolean {
  return (init?.relayVia?.length ?? 0) > 0 || (init?.discoverRelays ?? 0) > 0
}

/** `host:port` or `stun:host:port` as an ICE server URL; TypeError for anything else. */
export function stunUrl (text: string): string {
  const bare = text.startsWith('stun:') ? text.slice(5) : text
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(bare)
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new TypeError(`a STUN server is host:port (or stun:host:port), got ${text.slice(0, 80)}`)
  return `stun:${bare}`
}

/**
 * The WebRTC transport (private to private), asking `stun` for the public side of its sockets.
 * Loaded here, when a node hole punches, not with this module: @libp2p/webrtc and libdatachannel
 * add about 23 MB to the resident memory of every process that loads them.
 */
export async function holePunchTransport (init: ReachabilityInit): Promise<ReturnType<typeof webRTC>> {
  const iceServers = (init.stun ?? []).map(text => ({ urls: stunUrl(text) }))
  const webrtc = await import('@libp2p/webrtc')
  webrtcLoaded = true
  return webrtc.webRTC({ rtcConfiguration: { iceServers } })
}

/** Nodes in this process that hole punch and have not stopped. */
let punching = 0
/** Whether this process loaded the WebRTC transport, and with it libdatachannel. */
let webrtcLoaded = false

/**
 * Count a node that hole punches; the returned function, called once it has stopped, lets
 * libdatachannel's threads go when it was the last (they keep the process alive otherwise, and
 * they are the process's, shared by every node in it).
 */
export function holePunching (): () => Promise<void> {
  punching++
  let done = false
  return async () => {
    if (done) return
    done = true
    // libdatachannel never loaded (a bad option, or no build of it here): nothing to let go.
    if (--punching > 0 || !webrtcLoaded) return
    const { cleanup } = await import('node-datachannel')
    cleanup()
  }
}

/** Dials relayed addresses; relay reservations are made for the `<relay>/p2p-circuit` listen addresses. */
export async function relayTransport (): Promise<ReturnType<typeof circuitRelayTransport>> {
  const relay = await import('@libp2p/circuit-relay-v2')
  return relay.circuitRelayTransport({ reservationCompletionTimeout: 20_000 })
}

/**
 * libp2p's failure to listen, when it is a relay's (a reservation that failed), as
 * RelayReservationFailed naming the relay and why; undefined for any other error.
 */
export function relayFailure (err: unknown): RelayReservationFailed | undefined {
  if (!(err instanceof Error) || err.name !== 'UnsupportedListenAddressesError') return undefined
  const lines = err.message.split('\n').map(line => /^\s*(\/\S+)\/p2p-circuit: (.*)$/.exec(line)).filter(match => match !== null)
  if (lines.length === 0) return undefined
  return new RelayReservationFailed(lines.map(([, relay, why]) => `could not reserve a slot on the relay ${relay as string}: ${why as string}`).join('; '), { cause: err })
}
