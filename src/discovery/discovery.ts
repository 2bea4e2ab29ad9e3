import type { KadDHT, SingleKadDHT } from '@libp2p/kad-dht'
import type { Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore } from '../../store/interface.js'
import { Announcer } from './announcer.js'
import { blobCid } from './cid.js'
import type { DhtSettings } from './dht-service.js'
import { AnnounceFailed, NoDhtPeers } from './errors.js'
import { DhtInternalsChanged } from './kad-keys.js'
import type { AnnounceStats, DiscoveryEvent, FindProvidersOptions, FoundProvider } from './interface.js'

/** How often "is there a DHT peer yet?" is asked while a lookup waits for one. */
const READY_POLL_MS = 50

/** The first pause before a lookup that found nobody runs again, and the longest. */
const RETRY_FIRST_MS = 500
const RETRY_MAX_MS = 5000

/**
 * Content discovery on the Kademlia DHT: who provides a blob (`findProviders`), and this node's
 * blobs announced (the Announcer). Only the bootstrap peers given are dialled; while the DHT has
 * no peer they are dialled again every scan interval.
 */
export class Discovery {
  private readonly announcer: Announcer
  private readonly log: Logger
  private timer: NodeJS.Timeout | undefined
  private bootstrapping: Promise<void> | undefined
  private lastBootstrapError = 'no bootstrap peers were given'

  constructor (private readonly libp2p: Libp2p<{ dht: KadDHT }>, store: BlobStore, readonly settings: DhtSettings) {
    this.log = libp2p.logger.forComponent('verity:discovery')
    const dht = libp2p.services.dht
    this.announcer = new Announcer({
      store,
      provide: async (hash, signal) => {
        let accepted = 0
        for await (const event of dht.provide(blobCid(hash), { signal })) {
          if (event.name === 'PEER_RESPONSE' && event.messageName === 'ADD_PROVIDER') accepted++
        }
        if (accepted === 0) throw new AnnounceFailed(`no DHT peer took the record of ${toHex(hash)}`)
      },
      record: async hash => { await recordHere(dht, blobCid(hash), libp2p.peerId) },
      cancel: async hash => { await dht.cancelReprovide(blobCid(hash)) },
      ready: () => this.peers() > 0,
      log: this.log,
      onEvent: event => { this.emit(event) }
    }, {
      policy: settings.announce,
      concurrency: settings.announceConcurrency,
      timeoutMs: settings.announceTimeoutMs,
      reannounceMs: settings.reannounceMs,
      scanIntervalMs: settings.scanIntervalMs
    })
  }

  /** Dial the bootstrap peers (in the background) and start announcing. */
  start (): void {
    this.keepJoined()
    this.announcer.start()
  }

  stop (): void {
    clearTimeout(this.timer)
    this.announcer.stop()
  }

  /** Peers in the DHT's routing table. */
  peers (): number {
    return (this.libp2p.services.dht as unknown as SingleKadDHT).routingTable?.size ?? 0
  }

  /**
   * Resolves once the DHT has a peer (dialling the bootstrap peers if need be); NoDhtPeers when
   * the signal ends the wait first, saying why the bootstrap peers failed.
   */
  async joined (options: { signal?: AbortSignal } = {}): Promise<void> {
    // Dialled once here (keepJoined dials again later): a refused dial fails at once, and is not repeated every poll.
    if (this.peers() === 0 && this.bootstrapping === undefined) this.bootstrap()
    while (this.peers() === 0) {
      if (options.signal?.aborted === true) throw new NoDhtPeers(`no DHT peer reached: ${this.lastBootstrapError}`)
      await new Promise(resolve => setTimeout(resolve, READY_POLL_MS))
    }
  }

  /** Announce these blobs (while complete here) whatever the announce policy: `send` announces what it sends. */
  announce (hashes: Uint8Array[]): void {
    this.announcer.add(hashes)
  }

  /** Whether this node's last announcement of `hash` succeeded and it is still announced. */
  isAnnounced (hash: Uint8Array): boolean {
    return this.announcer.isAnnounced(hash)
  }

  /** `announced`, `pending` (held here only so far) or undefined (not announced by this node). */
  announceState (hash: Uint8Array): 'announced' | 'pending' | undefined {
    return this.announcer.stateOf(hash)
  }

  announceStats (): AnnounceStats {
    return this.announcer.stats()
  }

  /**
   * Peers that announced `hash`, with the addresses their records give, as the DHT finds them
   * (this node left out), at most `maxProvidersPerPeer` from any one DHT peer's answers. Ends
   * after `maxProviders`, when a lookup that found someone is done (with `keepLooking`: not
   * then), or at its deadline or the caller's signal (quietly: the Downloader goes on with what
   * it has); a lookup that found nobody is tried again until then. Waits first for a DHT peer,
   * within the same deadline.
   */
  async * findProviders (hash: Uint8Array, options: FindProvidersOptions = {}): AsyncGenerator<FoundProvider> {
    const hex = toHex(hash)
    const cid = blobCid(hash)
    const max = options.maxProviders ?? this.settings.maxProviders
    const deadline = AbortSignal.timeout(options.timeoutMs ?? this.settings.lookupTimeoutMs)
    const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline])
    const started = Date.now()
    const self = this.libp2p.peerId.toString()
    const seen = new Set<string>([self])
    /** Providers taken from each answering peer's answers (at most settings.maxProvidersPerPeer). */
    const fromPeer = new Map<string, number>()
    let error: string | undefined
    this.emit({ type: 'lookup:start', hash: hex })
    try {
      await this.joined({ signal })
      // A lookup that found nobody is run again, after a pause that doubles, until the deadline:
      // a record may be on its way (just announced, or the tables still converging). With
      // keepLooking, one that found someone too, until `max`: a pass may have met only peers that
      // lie (each capped at maxProvidersPerPeer) and never reached the real records.
      const again = (): boolean => seen.size === 1 || (options.keepLooking === true && seen.size - 1 < max)
      for (let pause = RETRY_FIRST_MS; again(); pause = Math.min(pause * 2, RETRY_MAX_MS)) {
        for await (const event of this.libp2p.services.dht.findProviders(cid, { signal })) {
          if (event.name !== 'PROVIDER') continue
          const from = event.from.toString()
          for (const peer of event.providers) {
            const peerId = peer.id.toString()
            if (seen.has(peerId)) continue
            const taken = fromPeer.get(from) ?? 0
            if (taken >= this.settings.maxProvidersPerPeer) break
            fromPeer.set(from, taken + 1)
            seen.add(peerId)
            const found = { peerId, addrs: dialable(peer.multiaddrs, this.settings.maxAddrsPerProvider) }
            this.emit({ type: 'lookup:provider', hash: hex, peerId, addrs: found.addrs.map(String), ms: Date.now() - started })
            yield found
            if (seen.size - 1 >= max) return
          }
        }
        if (again()) await sleep(pause, signal)
      }
    } catch (err) {
      if (!signal.aborted) {
        error = `${(err as Error).name}: ${(err as Error).message}`
        throw err
      }
      error = err instanceof NoDhtPeers ? `${err.name}: ${err.message}` : deadline.aborted ? 'the lookup timed out' : 'the lookup was aborted'
    } finally {
      this.emit({ type: 'lookup:done', hash: hex, providers: seen.size - 1, ms: Date.now() - started, ...(error === undefined ? {} : { error }) })
    }
  }

  private emit (event: DiscoveryEvent): void {
    try {
      this.settings.onEvent?.(event)
    } catch (err) {
      this.log.error('a discovery listener failed: %e', err) // a listener's failure never breaks discovery
    }
  }

  /** While the DHT has no peer, dial the bootstrap peers again every scan interval. */
  private keepJoined (): void {
    if (this.peers() === 0 && this.bootstrapping === undefined) this.bootstrap()
    this.timer = setTimeout(() => { this.keepJoined() }, this.settings.scanIntervalMs)
    this.timer.unref()
  }

  private bootstrap (): void {
    const peers = this.settings.bootstrap
    if (peers.length === 0) return
    this.bootstrapping = (async () => {
      const errors: string[] = []
      await Promise.all(peers.map(async text => {
        try {
          await this.libp2p.dial(multiaddr(text), { signal: AbortSignal.timeout(this.settings.bootstrapTimeoutMs) })
          this.emit({ type: 'bootstrap:connected', peer: text })
        } catch (err) {
          errors.push(`${text}: ${(err as Error).name}: ${(err as Error).message}`)
          this.emit({ type: 'bootstrap:failed', peer: text, error: `${(err as Error).name}: ${(err as Error).message}` })
        }
      }))
      if (errors.length === peers.length) this.lastBootstrapError = `every bootstrap peer failed (${errors.join('; ')})`
      else if (errors.length === 0) this.lastBootstrapError = 'the bootstrap peers were reached but none is a DHT server of this protocol'
    })().finally(() => { this.bootstrapping = undefined })
  }
}

/**
 * This node's own provider record of `cid`, in the DHT's store only: what `provide` writes first,
 * before it looks for peers (kad-dht 16.4.5's `providers`, checked: DhtInternalsChanged).
 */
async function recordHere (dht: KadDHT, cid: CID, self: PeerId): Promise<void> {
  const providers = (dht as unknown as { providers?: { addProvider?: (cid: CID, peer: PeerId) => Promise<void> } }).providers
  if (typeof providers?.addProvider !== 'function') throw new DhtInternalsChanged('kad-dht has no providers.addProvider (src/discovery/discovery.ts keeps records with it)')
  await providers.addProvider(cid, self)
}

/** `ms`, or until `signal` aborts (then throws its reason). */
async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason) }
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** At most `max` addresses, those of a circuit relay last (they cost the relay). */
function dialable (addrs: Multiaddr[], max: number): Multiaddr[] {
  const direct = addrs.filter(a => !a.toString().includes('/p2p-circuit'))
  return [...direct, ...addrs.filter(a => a.toString().includes('/p2p-circuit'))].slice(0, max)
}
