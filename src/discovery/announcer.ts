import type { Logger } from '@libp2p/interface'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore } from '../../store/interface.js'
import type { AnnouncePolicy, AnnounceStats, DiscoveryEvent } from './interface.js'
import { wantedBlobs } from './wanted.js'

/** What the announcer uses: the store, and the DHT's provide and cancel for one blob. */
export interface AnnouncerComponents {
  store: Pick<BlobStore, 'revision' | 'list' | 'tags' | 'status' | 'reader'>
  /** Publish a provider record for `hash`; rejects when no DHT peer took it. */
  provide: (hash: Uint8Array, signal: AbortSignal) => Promise<void>
  /** Keep this node's own record of `hash`, which DHT peers asking this node are told of. */
  record: (hash: Uint8Array) => Promise<void>
  /** Stop re-publishing `hash` (drop this node's own record of it). */
  cancel: (hash: Uint8Array) => Promise<void>
  /** Whether announcing can work now (the DHT has a peer). */
  ready: () => boolean
  log: Logger
  onEvent: (event: DiscoveryEvent) => void
}

export interface AnnouncerInit {
  policy: AnnouncePolicy
  concurrency: number
  timeoutMs: number
  reannounceMs: number
  scanIntervalMs: number
}

interface Entry { hash: Uint8Array, nextAt: number, announcedAt: number | undefined, running: boolean }

/**
 * Keeps the DHT's provider records of this node's blobs true: each blob the policy names (and
 * each named with `add`) is announced once complete, again when its last announcement is
 * `reannounceMs` old, and no more once it left the store (or the policy's set). It runs on a
 * timer, `concurrency` announcements at a time, each within `timeoutMs`, so serving never waits
 * on it; a failed announcement is tried again a minute later (or a scan interval, if longer; at
 * most `reannounceMs`).
 * The store is listed again only when its revision moved.
 */
export class Announcer {
  private readonly entries = new Map<string, Entry>()
  /** Blobs named by `add`, announced whatever the policy while complete. */
  private readonly extra = new Map<string, Uint8Array>()
  private due: string[] = []
  private running = 0
  private scannedRevision = -1
  private extraChanged = false
  private scanning: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly controller = new AbortController()
  private readonly counts = { done: 0, failed: 0, stopped: 0 }

  constructor (private readonly components: AnnouncerComponents, private readonly init: AnnouncerInit) {}

  start (): void {
    this.tick()
  }

  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.controller.abort(new Error('the announcer stopped'))
  }

  /** Announce these blobs too (while complete here), whatever the policy. */
  add (hashes: Uint8Array[]): void {
    for (const hash of hashes) this.extra.set(toHex(hash), hash)
    this.extraChanged = true
    this.tick()
  }

  /** Whether `hash` was announced and is still announced. */
  isAnnounced (hash: Uint8Array): boolean {
    return this.entries.get(toHex(hash))?.announcedAt !== undefined
  }

  /**
   * `announced` (a DHT peer took its record), `pending` (to be announced: held here only, so far),
   * or undefined (not announced).
   */
  stateOf (hash: Uint8Array): 'announced' | 'pending' | undefined {
    const entry = this.entries.get(toHex(hash))
    return entry === undefined ? undefined : entry.announcedAt === undefined ? 'pending' : 'announced'
  }

  stats (): AnnounceStats {
    let announced = 0
    for (const entry of this.entries.values()) if (entry.announcedAt !== undefined) announced++
    return { announced, pending: this.entries.size - announced, ...this.counts }
  }

  /** Scan if the store changed, start what is due, and come back after a scan interval. */
  private tick (): void {
    if (this.controller.signal.aborted) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { this.tick() }, this.init.scanIntervalMs)
    this.timer.unref()
    if (this.scanning === undefined && (this.components.store.revision !== this.scannedRevision || this.extraChanged)) {
      this.scanning = this.scan().catch(err => { this.components.log.error('scanning the store for blobs to announce failed: %e', err) })
        .finally(() => { this.scanning = undefined; this.pump() })
      return
    }
    this.pump()
  }

  private async scan (): Promise<void> {
    const revision = this.components.store.revision
    this.extraChanged = false
    const wanted = await wantedBlobs(this.components.store, this.init.policy, this.controller.signal)
    for (const [hex, hash] of this.extra) {
      if (!wanted.has(hex) && (await this.components.store.status(hash)).status === 'complete') wanted.set(hex, hash)
    }
    for (const [hex, entry] of this.entries) {
      if (wanted.has(hex)) continue
      this.entries.delete(hex)
      if (entry.announcedAt !== undefined || entry.running) {
        this.counts.stopped++
        this.components.onEvent({ type: 'announce:stopped', hash: hex })
      }
      await this.components.cancel(entry.hash).catch(err => { this.components.log.error('dropping the own record of %s failed: %e', hex, err) })
    }
    const now = Date.now()
    for (const [hex, hash] of wanted) {
      if (this.entries.has(hex)) continue
      this.entries.set(hex, { hash, nextAt: now, announcedAt: undefined, running: false })
      // At once, peers or not: a peer that asks this node (the first of a fleet) learns of it.
      await this.components.record(hash).catch(err => { this.components.log.error('recording %s here failed: %e', hex, err) })
    }
    this.scannedRevision = revision
    this.due = [] // collected again from the entries
  }

  /** Start due announcements up to the concurrency; the due list is collected once per emptying. */
  private pump (): void {
    if (this.controller.signal.aborted || !this.components.ready()) return
    if (this.due.length === 0) {
      const now = Date.now()
      for (const [hex, entry] of this.entries) if (!entry.running && entry.nextAt <= now) this.due.push(hex)
    }
    while (this.running < this.init.concurrency && this.due.length > 0) {
      const hex = this.due.shift() as string
      const entry = this.entries.get(hex)
      if (entry === undefined || entry.running || entry.nextAt > Date.now()) continue
      void this.announce(hex, entry)
    }
  }

  private async announce (hex: string, entry: Entry): Promise<void> {
    entry.running = true
    this.running++
    const started = Date.now()
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.timeoutMs)])
    try {
      await this.components.provide(entry.hash, signal)
      const again = entry.announcedAt !== undefined
      entry.announcedAt = Date.now()
      entry.nextAt = entry.announcedAt + this.init.reannounceMs
      this.counts.done++
      this.components.onEvent({ type: 'announce:done', hash: hex, ms: Date.now() - started, again })
    } catch (err) {
      if (this.controller.signal.aborted) return
      entry.nextAt = Date.now() + Math.min(this.init.reannounceMs, Math.max(this.init.scanIntervalMs, 60000))
      this.counts.failed++
      this.components.log('announcing %s failed: %e', hex, err)
      this.components.onEvent({ type: 'announce:failed', hash: hex, error: `${(err as Error).name}: ${(err as Error).message}` })
    } finally {
      entry.running = false
      this.running--
      this.pump()
    }
  }
}
