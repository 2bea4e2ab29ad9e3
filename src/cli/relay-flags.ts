import { isIP } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { RelayReservationFailed } from '../discovery/errors.js'
import { relaySettings, stunUrl, type ReachabilityInit } from '../discovery/reachability.js'
import type { VerityNode } from '../node/create-node.js'
import { isRelayed, relayOf } from '../net/relay-limit.js'
import type { PeerTarget } from '../net/peer.js'
import { resolvePeer } from '../net/peer.js'
import { flag, has, hostPort, parseDuration, UsageError, type FlagSpec, type Output, type Parsed } from './common.js'
import { duration, size } from './units.js'
import { parseProviders } from './peers.js'

/** send's and serve's: relays to reserve a slot on (docs/reachability.md). */
export const RELAY_VIA_FLAG: Record<string, FlagSpec> = { 'relay-via': { value: true, many: true } }

/** serve's: be a relay, and its limits; answer STUN. */
export const RELAY_FLAGS: Record<string, FlagSpec> = {
  relay: {},
  'relay-max-reservations': { value: true },
  'relay-max-bytes': { value: true },
  'relay-max-duration': { value: true },
  'stun-server': { value: true }
}

/** `--stun` values as ICE server URLs; UsageError for a bad one. */
export function stunOf (parsed: Parsed): string[] | undefined {
  return parsed.flags.get('stun')?.map(text => {
    try {
      return stunUrl(text)
    } catch {
      throw new UsageError(`--stun takes a STUN server as host:port (or stun:host:port), not ${text.slice(0, 40)}`)
    }
  })
}

/** `--stun-server <ip:port>` or `<port>` (on every interface; 0: any free one). */
function stunServerOf (parsed: Parsed): { host: string, port: number } | undefined {
  const text = flag(parsed, 'stun-server')
  if (text === undefined) return undefined
  const refused = new UsageError(`--stun-server takes <ip>:<port> or <port> (an address of this machine, not a name; 0: any free port), not ${text.slice(0, 40)}`)
  let address: { host: string, port: number }
  try {
    address = hostPort(text, 'stun-server', '0.0.0.0')
  } catch {
    throw refused
  }
  if (isIP(address.host) === 0) throw refused
  return address
}

/** `128M`, `1G`, `512k` or plain bytes; k, M, G are powers of 1024. */
function parseBytes (text: string, name: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(text)
  if (match === null || Number(match[1]) <= 0) throw new UsageError(`--${name} takes a size such as 512k, 128M or 1G, not ${text}`)
  return Number(match[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] as string).toLowerCase()] as number)
}

/**
 * The reachability the command line asks for: `--relay` (serve) with its limits, `--relay-via
 * <multiaddr ending in /p2p/<relay id>>` (repeatable). Undefined when neither is given.
 */
export function reachabilityOf (parsed: Parsed): ReachabilityInit | undefined {
  const given = parsed.flags.get('relay-via')
  // `dht`: a relay found through the DHT, once per time given.
  const discoverRelays = given?.filter(addr => addr === 'dht').length ?? 0
  if (discoverRelays > 0 && !has(parsed, 'dht')) throw new UsageError('--relay-via dht finds a relay through the DHT: add --dht (and --bootstrap <multiaddr>)')
  if (discoverRelays > 8) throw new UsageError(`--relay-via dht asks for one relay each time it is given: at most 8, not ${discoverRelays}`)
  const named = given?.filter(addr => addr !== 'dht')
  const via = named === undefined || named.length === 0 ? undefined : named
  via?.forEach(addr => { if (!addr.startsWith('/')) throw new UsageError(`--relay-via takes a multiaddr ending in /p2p/<relay's peer id>, or dht, not ${addr.slice(0, 40)}`) })
  if (via !== undefined) parseProviders(via, 'relay-via')
  const limits = ['relay-max-reservations', 'relay-max-bytes', 'relay-max-duration'].filter(name => flag(parsed, name) !== undefined)
  if (!has(parsed, 'relay') && limits.length > 0) throw new UsageError(`--${limits[0] as string} goes with --relay`)
  const reservations = flag(parsed, 'relay-max-reservations')
  if (reservations !== undefined && !/^[1-9]\d*$/.test(reservations)) throw new UsageError(`--relay-max-reservations takes a positive whole number, not ${reservations}`)
  const bytes = flag(parsed, 'relay-max-bytes')
  const duration = flag(parsed, 'relay-max-duration')
  const relay = has(parsed, 'relay')
    ? {
        ...(reservations === undefined ? {} : { maxReservations: Number(reservations) }),
        ...(bytes === undefined ? {} : { maxBytesPerConnection: parseBytes(bytes, 'relay-max-bytes') }),
        ...(duration === undefined ? {} : { maxDurationMs: parseDuration(duration, 'relay-max-duration') })
      }
    : undefined
  const stun = stunOf(parsed)
  const stunServer = stunServerOf(parsed)
  if (relay === undefined && via === undefined && discoverRelays === 0 && stun === undefined && stunServer === undefined) return undefined
  return {
    ...(relay === undefined ? {} : { relay }),
    ...(via === undefined ? {} : { relayVia: via }),
    ...(discoverRelays === 0 ? {} : { discoverRelays }),
    ...(stun === undefined ? {} : { stun }),
    ...(stunServer === undefined ? {} : { stunServer })
  }
}

/**
 * A fetching command's (get, cat, serve --provider): dial relayed addresses and hole punch, asking
 * `stun`, when a peer it is given has one, when `stun` names servers, or when `always` (providers
 * the DHT finds may be behind a relay too).
 */
export function reachabilityFor (targets: PeerTarget[], stun: string[], always = false): ReachabilityInit | undefined {
  const relayed = targets.some(target => {
    try {
      return resolvePeer(target).addrs.some(isRelayed)
    } catch {
      return false // a bad target is said where it is used
    }
  })
  return relayed || always || stun.length > 0 ? { holePunch: true, stun } : undefined
}

/** How long send and serve wait for a slot on a relay the DHT finds (`--relay-via dht`). */
export const FIND_RELAY_MS = 30_000

/**
 * With `--relay-via dht` (n times), wait until slots on n relays found through the DHT are held
 * (relays other than those named, whose relayed addresses are the node's), at most `ms`;
 * RelayReservationFailed past it.
 */
export async function waitForRelayed (node: VerityNode, reachability: ReachabilityInit | undefined, signal?: AbortSignal, ms = FIND_RELAY_MS): Promise<void> {
  const wanted = reachability?.discoverRelays ?? 0
  if (wanted === 0) return
  const named = new Set((reachability?.relayVia ?? []).map(addr => multiaddr(addr).getComponents().at(-1)?.value)) // each ends in /p2p/<relay id>
  const found = (): number => new Set(node.addrs().map(addr => relayOf(addr)?.peerId).filter(relay => relay !== undefined && !named.has(relay))).size
  const deadline = Date.now() + ms
  while (found() < wanted) {
    signal?.throwIfAborted()
    if (Date.now() >= deadline) throw new RelayReservationFailed(`${found()} of ${wanted} relay(s) found through the DHT within ${ms / 1000} s: no other peer met there offers one (serve --relay --dht does), or none had a free slot`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

/** What the node says of its relays: the slots it holds (its relayed addresses), and whether it is one. */
export function sayReachability (node: VerityNode, reachability: ReachabilityInit | undefined, out: Output): void {
  if (reachability === undefined) return
  const relayed = node.addrs().filter(isRelayed).map(String)
  if (node.stun !== undefined) out.say(`answering STUN on ${node.stun.address.host}:${node.stun.address.port} (udp)`)
  if (reachability.relay !== undefined) {
    const limits = relaySettings(reachability.relay)
    out.say(`a circuit relay for others: ${limits.maxReservations} slots, ${size(limits.maxBytesPerConnection)} and ${duration(limits.maxDurationMs / 1000)} per relayed connection`)
  }
  if ((reachability.relayVia?.length ?? 0) > 0 || (reachability.discoverRelays ?? 0) > 0) {
    out.say(relayed.length === 0 ? 'no relay slot reserved yet' : `reachable through a relay at ${relayed.join(' ')}`)
  }
  out.event({ type: 'reachability', relay: reachability.relay !== undefined, relayed, ...(node.stun === undefined ? {} : { stun: `${node.stun.address.host}:${node.stun.address.port}` }) })
}
