import './polyfill.js'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { ProviderEvent, ProviderPolicy } from '../../protocol/interface.js'
import type { ServeLimits } from '../../protocol/provider/provider.js'
import { FsStore } from '../../store/fs-store.js'
import type { BlobFormat, BlobStore } from '../../store/interface.js'
import { MemStore } from '../../store/mem-store.js'
import { ConnectionPool, type PoolOptions } from '../net/pool.js'
import { quicWithFlowControl } from '../net/transport-fixes/quic.js'
import { tcpWithReadSlices } from '../net/transport-fixes/tcp.js'
import { assertFixedVersions } from '../net/transport-fixes/versions.js'
import { yamuxWithHalfWindowUpdates } from '../net/transport-fixes/yamux.js'
import { Remote } from '../remote.js'
import { Downloader } from '../downloader/downloader.js'
import { Origins, type OriginsInit } from '../origin/origins.js'
import type { DownloaderOptions } from '../downloader/interface.js'
import { BlobTicket, InvalidTicket, MAX_TICKET_MULTIADDRS, otherAddrs, quicAddrs, withInterfaceAddrs } from '../ticket.js'
import { byteStream } from '../net/stream.js'
import { isRelayed, relayOf } from '../net/relay-limit.js'
import { TASK_PROTOCOL } from '../seed/constants.js'
import type { SeedInit } from '../seed/interface.js'
import { SeedServer } from '../seed/seed-server.js'
import { Seeds } from '../seed/seeds.js'
import { Discovery } from '../discovery/discovery.js'
import { dhtService, dhtSettings } from '../discovery/dht-service.js'
import { acceptMultihashKeys } from '../discovery/kad-keys.js'
import { BoundedDatastore } from '../discovery/record-store.js'
import type { DhtInit } from '../discovery/interface.js'
import { checkReachability, discoveredRelayListenAddrs, holePunching, holePunchListenAddrs, holePunchTransport, punchesHoles, reachabilityServices, relayFailure, relayListenAddrs, relayTransport, type ReachabilityInit } from '../discovery/reachability.js'
import { startStunServer, type StunServer } from '../discovery/stun.js'
import { blobsService, type BlobsService } from './blobs-service.js'
import { loadOrCreateIdentity } from './identity.js'

/** Loopback QUIC-v1 (UDP) first, TCP (noise + yamux) as the fallback. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/udp/0/quic-v1', '/ip4/127.0.0.1/tcp/0']

/**
 * UDP socket buffers asked for (the kernel caps them at net.core.rmem_max / wmem_max). The
 * transport's 500 KB default dropped about 1% of datagrams on loopback in the 256 MiB bench
 * (RcvbufErrors in /proc/net/snmp), each loss a retransmit and a congestion back-off; 4 MiB, none.
 */
const UDP_BUFFER = 4 << 20
/**
 * How long a QUIC connection may go without a packet from its peer before it is closed, and how
 * often an idle one sends a keep-alive. A peer that vanishes (killed, unplugged: no packet says
 * so, unlike TCP's reset from the kernel of a killed process) is found out by this timeout, and
 * until then a fetch from it waits: the transport's 10 s made a downloader or request client
 * wait 10 s before going on from the next provider. With a keep-alive every 1.5 s a live peer
 * sends a packet at least that often, on the transport's own threads, whatever its event loop does.
 */
export const QUIC_IDLE_TIMEOUT_MS = 5000
export const QUIC_KEEP_ALIVE_MS = 1500

/**
 * What peers may cost this node: the provider's limits per request, per connection and node-wide
 * (DEFAULT_SERVE_LIMITS in protocol/provider/provider.ts; docs/limits-and-security.md), and
 * libp2p's own on streams and connections.
 */
export interface NodeLimits extends Partial<ServeLimits> {
  /** Streams open at once on one connection, per protocol; libp2p resets more. @default 64 */
  maxStreamsPerConnection?: number
  /** Connections libp2p keeps open at most. @default 300 */
  maxConnections?: number
  /**
   * New inbound connections accepted per second from one IP address; more are refused.
   * libp2p's own default (5) refuses a sixth `verity get` started in the same second behind one
   * NAT, or a test's sixth node. @default 100
   */
  inboundConnectionsPerSecond?: number
}

export interface NodeOptions {
  /** Directory for the FsStore (`store/`) and the identity (`identity.key`). */
  dataDir?: string
  /** A store to use instead; without it and without a dataDir, a MemStore. */
  store?: BlobStore
  /** Multiaddrs to listen on. @default DEFAULT_LISTEN */
  listen?: string[]
  /** The node's key; without it, the one in dataDir (made on first use), else a fresh one. */
  privateKey?: PrivateKey
  /**
   * Who may ask this node for what, and which blobs it serves (`scope`: a node sharing one
   * collection out of a larger store serves just it, `scopeOf`). @default get, getMany and observe
   * of every blob for all; push for none
   */
  provide?: ProviderPolicy
  /** Provider events: connected, requestReceived, progress, completed, aborted. */
  onEvent?: (event: ProviderEvent) => void
  limits?: NodeLimits
  pool?: PoolOptions
  downloader?: DownloaderOptions
  /** Imports from URLs (node.origins): plugins, HTTP settings, pieces at once; its data under `dataDir`. */
  origins?: Omit<OriginsInit, 'dataDir'>
  /**
   * Be a seed peer: answer /verity/task/1, fetching URLs from their origins for the peers `allow`
   * lets (default all) and the URL prefixes `origins` lists (default any http: or https: URL).
   * Without it the node fetches URLs for nobody. docs/origins.md, "Seed peers".
   */
  seed?: SeedInit
  /**
   * Join a Kademlia DHT (its own, `/verity/kad/1.0.0`, by default) through `bootstrap` peers:
   * find providers by hash (`node.discovery.findProviders`) and announce blobs held here
   * (docs/discovery.md). Without it the node contacts nobody it was not told to.
   */
  dht?: DhtInit
  /**
   * Reach and be reached through NAT (docs/reachability.md): be a circuit relay (`relay`, with
   * limits), reserve a slot on relays (`relayVia`: the relayed address goes in tickets), upgrade
   * relayed connections by hole punching (DCUtR) and ask peers about reachability (AutoNAT).
   * With it (`{}` will do) the node dials relayed addresses, such as a ticket's; without it, it does not.
   */
  reachability?: ReachabilityInit
}

export interface VerityNode {
  readonly libp2p: Libp2p<{ blobs: BlobsService }>
  readonly blobs: BlobStore
  readonly remote: Remote
  /** Downloads from many providers at once (`split`) or one after another (`none`). */
  readonly downloader: Downloader
  readonly pool: ConnectionPool
  /** Files and directories from URLs (file:, http:, https:, plugins) into the store (docs/origins.md). */
  readonly origins: Origins
  /** Asking seed peers to fetch URLs, and fetching what they name (docs/origins.md, "Seed peers"). */
  readonly seeds: Seeds
  /** The seed side, when the node was made with `seed`. */
  readonly seed: SeedServer | undefined
  /** Providers by hash and announcements on the DHT, when the node was made with `dht`. */
  readonly discovery: Discovery | undefined
  /** The STUN responder (`reachability.stunServer`), if one runs. */
  readonly stun: StunServer | undefined
  readonly peerId: string
  /**
   * Addresses others can dial, each ending in /p2p/<peer id>: libp2p's, and for a wildcard listen
   * address every interface's address on its port (as tickets hold them).
   */
  addrs: () => Multiaddr[]
  /** A ticket for a blob here, with this node's QUIC, TCP and relayed addresses; InvalidTicket when it has none. */
  ticket: (hash: Uint8Array, format?: BlobFormat) => BlobTicket
  /** Let requests in flight finish (or time out), then stop libp2p and close an owned store. */
  stop: () => Promise<void>
}

/**
 * A libp2p node with QUIC and TCP, the blobs service and a store. It dials only what it is
 * given: no mDNS or UPnP, a DHT (with identify and ping, which it needs) only with `dht`, through
 * the bootstrap peers given there, and relays only those given in `reachability.relayVia` or in
 * the relayed addresses it is asked to dial. Throws UnexpectedTransportVersion if
 * the QUIC or yamux package is not the version the transport fixes were measured with.
 */
export async function createNode (options: NodeOptions = {}): Promise<VerityNode> {
  // The transport fixes reach into the pinned transports' internals (docs/architecture.md).
  assertFixedVersions()
  // Checked before the identity is written or the store opens: bad reachability or DHT settings
  // leave the data directory as it was and nothing open.
  checkReachability(options.reachability, options.dht !== undefined)
  const direct = options.listen ?? DEFAULT_LISTEN
  const relays = (options.reachability?.relayVia ?? []).map(addr => multiaddr(addr).toString())
  const listen = [...direct, ...relayListenAddrs(relays), ...discoveredRelayListenAddrs(options.reachability, options.dht !== undefined), ...holePunchListenAddrs(options.reachability)]
  const dht = options.dht === undefined ? undefined : dhtSettings(options.dht, direct.length > 0)
  const privateKey = options.privateKey ?? (options.dataDir === undefined ? undefined : await loadOrCreateIdentity(options.dataDir))
  const ownStore = options.store === undefined
  const blobs = options.store ?? (options.dataDir === undefined ? new MemStore() : await FsStore.open(join(options.dataDir, 'store')))
  const limits = options.limits ?? {}
  // The DHT's records of other peers, capped (libp2p's own datastore would take any number).
  const datastore = dht === undefined ? undefined : new BoundedDatastore(dht)
  // Counted before libp2p starts: another node stopping meanwhile must not let libdatachannel go.
  const released = punchesHoles(options.reachability) ? holePunching() : async () => {}
  try {
    // Transports and services a node asks for, their packages loaded only then.
    const relay = options.reachability === undefined ? undefined : await relayTransport()
    const holePunch = punchesHoles(options.reachability) ? await holePunchTransport(options.reachability as ReachabilityInit) : undefined
    const reachability = await reachabilityServices(options.reachability, dht !== undefined)
    const dhtFactory = dht === undefined ? undefined : await dhtService(dht)
    const libp2p = await createLibp2p({
      ...(privateKey === undefined ? {} : { privateKey }),
      addresses: { listen },
      ...(datastore === undefined ? {} : { datastore }),
      transports: [quicWithFlowControl({ receiveBufferSize: UDP_BUFFER, sendBufferSize: UDP_BUFFER, maxIdleTimeout: QUIC_IDLE_TIMEOUT_MS, keepAliveInterval: QUIC_KEEP_ALIVE_MS }), tcpWithReadSlices(), ...(relay === undefined ? [] : [relay]), ...(holePunch === undefined ? [] : [holePunch])],
      connectionEncrypters: [noise()],
      streamMuxers: [yamuxWithHalfWindowUpdates()],
      connectionManager: { maxConnections: limits.maxConnections ?? 300, inboundConnectionThreshold: limits.inboundConnectionsPerSecond ?? 100 },
      services: {
        blobs: blobsService({
          store: blobs,
          ...(options.provide === undefined ? {} : { policy: options.provide }),
          ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
          limits: serveLimits(limits),
          ...(limits.maxStreamsPerConnection === undefined ? {} : { maxStreamsPerConnection: limits.maxStreamsPerConnection })
        }),
        // Typed apart: libp2p's map would have ping required of every service's components.
        ...(dhtFactory === undefined ? {} : { dht: dhtFactory, identify: identify(), ping: ping() } as object),
        ...reachability
      }
    })
    // libp2p, then (for the last node that hole punches) libdatachannel's threads.
    const stopLibp2p = async (): Promise<void> => {
      try {
        await libp2p.stop()
      } finally {
        await released()
      }
    }
    let discovery: Discovery | undefined
    if (dht !== undefined) {
      const withDht = libp2p as unknown as Libp2p<{ dht: KadDHT }>
      if (datastore !== undefined) datastore.self = libp2p.peerId.toString()
      try {
        acceptMultihashKeys(withDht.services.dht)
      } catch (err) {
        await stopLibp2p()
        throw err
      }
      discovery = new Discovery(withDht, blobs, dht)
      discovery.start()
    }
    let stun: StunServer | undefined
    try {
      const stunServer = options.reachability?.stunServer
      if (stunServer !== undefined) stun = await startStunServer(stunServer)
    } catch (err) {
      discovery?.stop()
      await stopLibp2p()
      throw err
    }
    const pool = new ConnectionPool(libp2p, options.pool)
    const remote = new Remote(blobs, pool, libp2p.logger)
    let origins: Origins
    try {
      origins = await Origins.create({ store: blobs, logger: libp2p.logger }, { ...options.origins, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) })
    } catch (err) {
      discovery?.stop()
      await stun?.close()
      await stopLibp2p()
      throw err
    }
    const downloader = new Downloader(blobs, remote, options.downloader, libp2p.logger)
    let seed: SeedServer | undefined
    /** Everything started above, stopped in turn; libp2p (and the store if `closeStore`) whatever fails before them. */
    const stopAll = async (closeStore = ownStore): Promise<void> => {
      try {
        seed?.stop()
        discovery?.stop()
        await stun?.close()
        await origins.close()
        await pool.close({ timeoutMs: 5000 })
      } finally {
        try {
          await stopLibp2p()
        } finally {
          if (closeStore) await blobs.close()
        }
      }
    }
    if (options.seed !== undefined) {
      try {
        const server = seed = new SeedServer({ origins, logger: libp2p.logger }, options.seed)
        await libp2p.handle(TASK_PROTOCOL, (stream, connection) => {
          stream.inactivityTimeout = 0 // a task's answer waits for the origin; the seed sends progress every second
          void server.serve(byteStream(stream), connection.remotePeer.toString())
        }, { maxInboundStreams: limits.maxStreamsPerConnection ?? 64, maxOutboundStreams: 64 })
      } catch (err) {
        await stopAll(false).catch(() => {}) // the store: closed below, with the error
        throw err
      }
    }
    return {
      libp2p,
      blobs,
      remote,
      downloader,
      seeds: new Seeds({ pool, downloader, logger: libp2p.logger }),
      seed,
      discovery,
      stun,
      pool,
      origins,
      peerId: libp2p.peerId.toString(),
      // libp2p's, with every interface's address for a wildcard listen (libp2p holds back public ones until AutoNAT confirms them).
      addrs: () => withInterfaceAddrs(libp2p.getMultiaddrs(), direct),
      ticket: (hash, format = 'raw') => {
        const listening = withInterfaceAddrs(libp2p.getMultiaddrs(), direct)
        const addrs = quicAddrs(listening)
        // Relayed addresses through the relays as they were given (the relay's own list may hold its loopback).
        // Relays found through the DHT: only their addresses at the IP this node is connected to
        // each at, not whatever the relay's answer lists (a stranger's list could name any host).
        const found = (options.reachability?.discoverRelays ?? 0) > 0
        const other = otherAddrs(listening).filter(addr => !isRelayed(addr) || relays.some(relay => addr.toString().startsWith(relay + '/')) || (found && atConnectedIp(libp2p, addr)))
        // At most MAX_TICKET_MULTIADDRS: every relayed one, then direct ones as they come (a machine with many interfaces).
        const relayed = other.filter(isRelayed)
        const multiaddrs = [...other.filter(addr => !isRelayed(addr)).slice(0, Math.max(0, MAX_TICKET_MULTIADDRS - relayed.length)), ...relayed.slice(0, MAX_TICKET_MULTIADDRS)]
        if (addrs.length === 0 && multiaddrs.length === 0) {
          throw new InvalidTicket('no ticket without an address: tickets carry QUIC, TCP and relayed addresses, and this node ' +
            (listening.length === 0 ? 'listens on nothing' : `listens on ${listening.map(a => a.toString()).join(', ')}`) +
            '; listen on /ip4/0.0.0.0/udp/0/quic-v1 or /ip4/0.0.0.0/tcp/0, or reserve a slot on a relay')
        }
        return new BlobTicket({ nodeId: (libp2p.peerId.publicKey as { raw: Uint8Array }).raw, addrs, multiaddrs, hash, format })
      },
      stop: async () => { await stopAll() }
    }
  } catch (err) {
    // A no-op if stopLibp2p ran it already. Whatever it meets, the store is closed and this error
    // is the one reported.
    await released().catch(() => {})
    if (ownStore) await blobs.close()
    throw relayFailure(err) ?? err
  }
}

/** Whether relayed `addr`'s relay part is at an IP this node has a direct connection to that relay on. */
function atConnectedIp (libp2p: Libp2p, addr: Multiaddr): boolean {
  const relay = relayOf(addr)
  if (relay?.peerId === undefined || relay.ip === undefined) return false
  return libp2p.getConnections().some(c => c.limits === undefined && c.remotePeer.toString() === relay.peerId && c.remoteAddr.getComponents()[0]?.value === relay.ip)
}

/** The provider's part of the node's limits. */
function serveLimits (limits: NodeLimits): Partial<ServeLimits> {
  const { maxStreamsPerConnection: _streams, maxConnections: _connections, inboundConnectionsPerSecond: _rate, ...serve } = limits
  return serve
}
