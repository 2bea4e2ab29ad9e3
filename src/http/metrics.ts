import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ProviderEvent } from '../../protocol/interface.js'
import type { DiscoveryEvent } from '../discovery/interface.js'
import type { VerityNode } from '../node/create-node.js'

/**
 * The store's totals are counted again when it has changed, at most every second and never more
 * than 1/COUNT_SHARE of the time: a count that took 2 s waits 40 s for the next.
 */
const STORE_COUNT_MIN_MS = 1000
const COUNT_SHARE = 20

/**
 * What `verity serve` exposes on `/metrics` (Prometheus text, through prom-client): its HTTP side,
 * the requests peers made of it and what they cost it, its store, and the process (prom-client's
 * default metrics: CPU, memory, handles, and the event-loop delay, whose percentiles cover the
 * time since the previous scrape). One registry per instance, so several can live in a process.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  private readonly httpBytes = new Counter({ name: 'verity_http_bytes_served_total', help: 'Verified blob bytes sent to HTTP clients.', registers: [this.registry] })
  private readonly httpRequests = new Counter({ name: 'verity_http_requests_total', help: 'HTTP requests by route and status.', labelNames: ['route', 'status'] as const, registers: [this.registry] })
  private readonly peerRequests = new Counter({ name: 'verity_peer_requests_total', help: 'Requests peers made of this node, by kind and result (ok, or the error\'s name).', labelNames: ['kind', 'result'] as const, registers: [this.registry] })
  private readonly peerBytes = new Counter({ name: 'verity_peer_bytes_sent_total', help: 'Bytes sent to peers in responses.', registers: [this.registry] })
  private readonly lookups = new Counter({ name: 'verity_dht_lookups_total', help: 'DHT lookups of providers, by result: found (at least one provider) or none.', labelNames: ['result'] as const, registers: [this.registry] })
  private readonly lookupsStarted = new Counter({ name: 'verity_dht_lookups_started_total', help: 'DHT lookups of providers started.', registers: [this.registry] })
  private readonly providersFound = new Counter({ name: 'verity_dht_providers_found_total', help: 'Providers DHT lookups found.', registers: [this.registry] })
  private readonly firstProvider = new Histogram({ name: 'verity_dht_first_provider_seconds', help: 'Time from a lookup\'s start to its first provider.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] })
  private readonly announcements = new Counter({ name: 'verity_dht_announcements_total', help: 'DHT announcements of blobs held here, by result: ok (again: a renewal), failed, stopped (the blob left).', labelNames: ['result'] as const, registers: [this.registry] })
  private readonly announceTime = new Histogram({ name: 'verity_dht_announce_seconds', help: 'Time one announcement took (a lookup of the closest peers, then ADD_PROVIDER to each).', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry] })
  private readonly bootstraps = new Counter({ name: 'verity_dht_bootstrap_dials_total', help: 'Dials of bootstrap peers, by result.', labelNames: ['result'] as const, registers: [this.registry] })
  private readonly firstSeen = new Set<string>()

  constructor () {
    collectDefaultMetrics({ register: this.registry })
  }

  countHttp (route: string, status: number): void {
    this.httpRequests.inc({ route, status: String(status) })
  }

  countHttpBytes (bytes: number): void {
    this.httpBytes.inc(bytes)
  }

  /** Pass as `createNode({ onEvent })`: requests peers made of this node, by kind and result. */
  readonly onEvent = (event: ProviderEvent): void => {
    if (event.type !== 'completed' && event.type !== 'aborted') return
    const kind = event.context?.request.type ?? 'unparsed'
    this.peerRequests.inc({ kind, result: event.type === 'completed' ? 'ok' : event.error.name })
    this.peerBytes.inc(event.stats.bytesSent)
  }

  /** Pass as `createNode({ dht: { onEvent } })` (beside any other listener): lookups and announcements counted. */
  readonly onDiscovery = (event: DiscoveryEvent): void => {
    switch (event.type) {
      case 'lookup:start': this.lookupsStarted.inc(); this.firstSeen.delete(event.hash); break
      case 'lookup:provider':
        this.providersFound.inc()
        if (!this.firstSeen.has(event.hash)) { this.firstSeen.add(event.hash); this.firstProvider.observe(event.ms / 1000) }
        break
      case 'lookup:done': this.lookups.inc({ result: event.providers > 0 ? 'found' : 'none' }); this.firstSeen.delete(event.hash); break
      case 'announce:done': this.announcements.inc({ result: event.again ? 'renewed' : 'ok' }); this.announceTime.observe(event.ms / 1000); break
      case 'announce:failed': this.announcements.inc({ result: 'failed' }); break
      case 'announce:stopped': this.announcements.inc({ result: 'stopped' }); break
      case 'bootstrap:connected': this.bootstraps.inc({ result: 'ok' }); break
      case 'bootstrap:failed': this.bootstraps.inc({ result: 'failed' }); break
      default: {
        const unknown: never = event
        throw new TypeError(`unknown discovery event ${JSON.stringify(unknown)}`)
      }
    }
  }

  /** The values read from `node` at each scrape: transfers, connections, the provider's load, the store. */
  watch (node: VerityNode): void {
    const registers = [this.registry]
    new Counter({
      name: 'verity_fetched_bytes_total',
      help: 'Bytes received from peers.',
      registers,
      collect () { this.reset(); this.inc(node.pool.stats().bytesReceived) }
    })
    new Gauge({ name: 'verity_active_connections', help: 'Open libp2p connections.', registers, collect () { this.set(node.libp2p.getConnections().length) } })
    new Gauge({ name: 'verity_relayed_connections', help: 'Open libp2p connections through a relay (limited in bytes and time).', registers, collect () { this.set(node.libp2p.getConnections().filter(c => c.limits !== undefined).length) } })
    new Gauge({ name: 'verity_webrtc_connections', help: 'Open WebRTC connections: direct ones, punched through NAT after signalling through a relay.', registers, collect () { this.set(node.libp2p.getConnections().filter(c => c.remoteAddr.toString().includes('/webrtc')).length) } })
    new Gauge({ name: 'verity_relay_addresses', help: 'This node\'s relayed addresses (one per relay slot it holds and relay address; with hole punching, one more for WebRTC through each).', registers, collect () { this.set(node.addrs().filter(a => a.toString().includes('/p2p-circuit')).length) } })
    const relay = (node.libp2p.services as { relay?: { reservations: { size: number } } }).relay
    if (relay !== undefined) new Gauge({ name: 'verity_relay_reservations', help: 'Peers holding a slot on this relay (serve --relay).', registers, collect () { this.set(relay.reservations.size) } })
    const discovery = node.discovery
    if (discovery !== undefined) {
      new Gauge({ name: 'verity_dht_announced_blobs', help: 'Blobs whose last DHT announcement succeeded.', registers, collect () { this.set(discovery.announceStats().announced) } })
      new Gauge({ name: 'verity_dht_pending_blobs', help: 'Blobs waiting for their first or next DHT announcement.', registers, collect () { this.set(discovery.announceStats().pending) } })
    }
    const load = (key: 'requests' | 'queued' | 'observers' | 'requestBytes') => function (this: Gauge) { this.set(node.libp2p.services.blobs.provider.load()[key]) }
    new Gauge({ name: 'verity_provider_requests', help: 'Get, GetMany and Push requests being served (limits.maxRequests).', registers, collect: load('requests') })
    new Gauge({ name: 'verity_provider_requests_queued', help: 'Requests waiting for a place (limits.maxQueuedRequests).', registers, collect: load('queued') })
    new Gauge({ name: 'verity_provider_observers', help: 'Observe requests open (limits.maxObservers).', registers, collect: load('observers') })
    new Gauge({ name: 'verity_provider_request_bytes', help: 'Bytes of requests held, read and not yet served (limits.maxRequestBytesInFlight).', registers, collect: load('requestBytes') })
    // A walk over every entry of the store: done at the first scrape, then again in the background
    // when the store has changed (see STORE_COUNT_MIN_MS), so a scrape never waits on a large store
    // (its figures may be that old).
    let totals: { blobs: number, bytes: number } | undefined
    let counting: Promise<{ blobs: number, bytes: number }> | undefined
    let countedAt = 0
    let countGap = STORE_COUNT_MIN_MS
    let countedRevision = -1
    const count = async (): Promise<{ blobs: number, bytes: number }> => {
      const revision = node.blobs.revision
      const started = performance.now()
      let blobs = 0
      let bytes = 0
      for await (const { status } of node.blobs.list()) {
        blobs++
        if (status.status === 'complete') bytes += status.size
      }
      totals = { blobs, bytes }
      countedAt = performance.now()
      countGap = Math.max(STORE_COUNT_MIN_MS, COUNT_SHARE * (countedAt - started))
      countedRevision = revision
      return totals
    }
    const storeTotals = async (): Promise<{ blobs: number, bytes: number }> => {
      const stale = node.blobs.revision !== countedRevision && performance.now() - countedAt >= countGap
      if (counting === undefined && (totals === undefined || stale)) {
        counting = count().finally(() => { counting = undefined })
      }
      return totals ?? await (counting as Promise<{ blobs: number, bytes: number }>)
    }
    new Gauge({ name: 'verity_store_blobs', help: 'Blobs in the store, complete or partial (counted again when it changes, at most every second).', registers, async collect () { this.set((await storeTotals()).blobs) } })
    new Gauge({ name: 'verity_store_bytes', help: 'Bytes of the complete blobs in the store (counted again when it changes, at most every second).', registers, async collect () { this.set((await storeTotals()).bytes) } })
  }

  /** The exposition: `text()` for the body, with `contentType`. */
  get contentType (): string {
    return this.registry.contentType
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }
}
