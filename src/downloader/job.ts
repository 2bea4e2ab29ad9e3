import type { Logger } from '@libp2p/interface'
import { nextSelected, type RangeSpecSeq } from '../../protocol/range-spec.js'
import { describeRequest, type GetRequest } from '../../protocol/request.js'
import { HashSeqReader } from '../../store/hash-seq.js'
import { isDiskError } from '../../store/disk-errors.js'
import type { BlobStore, TempTag } from '../../store/interface.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { bytesOf, coverage } from '../../store/ranges/coverage.js'
import { resolvePeer } from '../net/peer.js'
import type { Remote } from '../remote.js'
import { DownloadFailed, reasonOf } from './errors.js'
import type { DownloaderOptions, DownloadProgress, DownloadResult, ProviderReport, Providers, Strategy } from './interface.js'
import { hasRoom, PIPELINE_AT, release, stalled, take, type PlanOptions } from './planner.js'
import { RunningRequest } from './runner.js'
import { credit, judge, newProvider, newWant, sumPresent, type ProviderState, type Unit, type Want } from './state.js'

/** A part (hash:ranges, comma separated for a batch) as logged: at most 100 characters. */
const clip = (part: string): string => part.length > 100 ? `${part.slice(0, 99)}…` : part

/** Progress items while bytes arrive come at most this often. */
const PROGRESS_MS = 200

/**
 * One download, shared by every caller asking for the same content. It plans from the store:
 * what is missing is read from the bitfields after every request, so whatever a failed or lying
 * provider left undone simply goes to the next request.
 */
export class Job {
  private readonly controller = new AbortController()
  private readonly providers = new Map<string, ProviderState>()
  private readonly listeners = new Set<(item: DownloadProgress) => void>()
  private wants: Want[] = []
  /** The current phase is the last: no children still to learn of, so a total can be given. */
  private lastPhase = false
  private pendingSources = 0
  private wakeUp: (() => void) | undefined
  private bytesReceived = 0
  private localBytes = 0
  private lastProgress = 0
  /** Entries of a provider source that were not peers, as "Name: message". */
  private readonly rejected: string[] = []
  /** Verified bytes of the phases done. */
  private earlier = 0
  private readonly pins: TempTag[] = []
  private readonly running = new Set<RunningRequest>()
  private readonly plan: PlanOptions
  readonly result: Promise<DownloadResult>

  constructor (private readonly store: BlobStore, private readonly remote: Remote, private readonly request: GetRequest | { many: Uint8Array[], ranges: RangeSpecSeq },
    private readonly strategy: Strategy, private readonly options: Required<DownloaderOptions>, private readonly log: Logger) {
    this.plan = { strategy, ...options }
    this.result = this.run()
    this.result.catch(() => {}) // callers see it through their handles; the outcome is logged in run()
  }

  get signal (): AbortSignal { return this.controller.signal }

  listen (listener: (item: DownloadProgress) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  abort (reason: Error): void { this.controller.abort(reason) }

  /** Take providers from `source` as they come. */
  addProviders (source: Providers): void {
    this.pendingSources++
    void (async () => {
      try {
        for await (const target of source) {
          if (this.signal.aborted) return
          let id: string
          try {
            id = resolvePeer(target).id
          } catch (err) { // one bad entry of a source: say so, take the rest
            this.rejected.push(`${(err as Error).name}: ${(err as Error).message}`)
            this.emit({ type: 'download:provider-failed', detail: { provider: 'providers', part: '', reason: 'error', error: err as Error, dropped: true } })
            continue
          }
          if (!this.providers.has(id)) this.providers.set(id, newProvider(id, target))
          this.wake()
        }
      } catch (err) {
        this.emit({ type: 'download:provider-failed', detail: { provider: 'providers', part: '', reason: 'error', error: err as Error, dropped: true } })
      } finally {
        this.pendingSources--
        this.wake()
      }
    })()
  }

  private emit (item: DownloadProgress): void {
    this.logItem(item)
    for (const listener of this.listeners) listener(item)
  }

  /** Each request's start and end (progress items are left out: they come every PROGRESS_MS). */
  private logItem (item: DownloadProgress): void {
    if (!this.log.enabled) return
    switch (item.type) {
      case 'download:try-provider': this.log('asking %s for %s', item.detail.provider, clip(item.detail.part)); break
      case 'download:part-complete': this.log('%s delivered %d bytes of %s', item.detail.provider, item.detail.bytes, clip(item.detail.part)); break
      case 'download:provider-failed': {
        const { provider, reason, dropped, error } = item.detail
        this.log('%s failed (%s%s): %s: %s', provider, reason, dropped ? ', dropped' : '', error.name, error.message)
        break
      }
      case 'download:progress': break
      case 'download:error': this.log('failed: %s: %s', item.detail.error.name, item.detail.error.message); break
      default: {
        const unknown: never = item
        throw new TypeError(`unknown progress item ${JSON.stringify(unknown)}`)
      }
    }
  }

  private wake (): void {
    const wake = this.wakeUp
    this.wakeUp = undefined
    wake?.()
  }

  private async run (): Promise<DownloadResult> {
    const what = 'many' in this.request ? `getMany of ${this.request.many.length} blobs` : describeRequest({ type: 'get', request: this.request })
    this.log('started: %s, strategy %s', what, this.strategy)
    try {
      if ('many' in this.request) {
        const { many, ranges } = this.request
        for (const hash of many) this.pins.push(this.store.tempTag({ hash, format: 'raw' }))
        this.lastPhase = true
        await this.phase(many.map((hash, i) => newWant(hash, ranges.at(i))).filter(w => !w.ranges.isEmpty()))
      } else {
        const { hash, ranges } = this.request
        const children = nextSelected(ranges, 1) !== undefined
        this.pins.push(this.store.tempTag({ hash, format: children ? 'hashseq' : 'raw' }))
        // The children are known only once the whole root is here.
        const root = children ? ChunkRanges.all() : ranges.at(0)
        this.lastPhase = !children
        if (!root.isEmpty()) await this.phase([newWant(hash, root)])
        if (children) {
          this.lastPhase = true
          // Read as a HashSeq only if it is one (within the limit), a window at a time.
          const hashes: Uint8Array[] = []
          for await (const child of await HashSeqReader.open(this.store, hash)) hashes.push(child)
          await this.phase(hashes.map((child, i) => newWant(child, ranges.at(i + 1))).filter(w => !w.ranges.isEmpty()))
        }
      }
      const result: DownloadResult = { localBytes: this.localBytes, bytes: this.verified(), bytesReceived: this.bytesReceived, providers: this.reports() }
      this.emit(this.progressItem())
      this.log('done: %d bytes verified (%d were local), %d received from %d providers', result.bytes, result.localBytes, result.bytesReceived, Object.keys(result.providers).length)
      return result
    } catch (err) {
      this.emit({ type: 'download:error', detail: { error: err as Error } })
      throw err
    } finally {
      for (const pin of this.pins) pin.release()
      this.controller.abort(new Error('the download ended'))
    }
  }

  /** Fetch everything `wants` asks for; the local store counts first. */
  private async phase (wants: Want[]): Promise<void> {
    this.wants = wants
    await Promise.all(wants.map(w => this.refresh(w)))
    this.localBytes += sumPresent(wants)
    this.emit(this.progressItem())
    const running = new Set<Promise<void>>()
    while (true) {
      this.signal.throwIfAborted()
      if (wants.every(w => w.missing.isEmpty())) break
      const now = Date.now()
      for (const provider of this.providers.values()) {
        if (this.strategy === 'none' && running.size > 0) break
        while (!provider.dropped && provider.readyAt <= now && hasRoom(provider, this.running, this.plan)) {
          const unit = take(this.wants, provider, this.providers.values(), this.plan)
          if (unit === undefined) break
          const request = this.fetch(provider, unit).finally(() => { running.delete(request); this.wake() })
          running.add(request)
          if (this.strategy === 'none') break
        }
      }
      // Wake when a request ends, a provider arrives, a backoff is over or a stall may be due.
      const backingOff = [...this.providers.values()].filter(p => !p.dropped && p.readyAt > now)
      if (running.size === 0 && backingOff.length === 0 && this.pendingSources === 0) {
        const usable = [...this.providers.values()].some(p => !p.dropped && take(this.wants, p, this.providers.values(), this.plan, true) !== undefined)
        if (!usable) throw this.failure()
      }
      let wait = Math.min(...backingOff.map(p => p.readyAt - now))
      if (running.size > 0) {
        // Providers with nothing to do take over what a silent or crawling provider holds.
        const verdict = stalled(now, this.wants, this.providers.values(), this.running, this.plan)
        for (const { request, reason } of verdict.stop) (request as RunningRequest).stop(reason)
        if (verdict.waiting) wait = Math.min(wait, this.options.stallMs / 2)
      }
      await this.sleep(Number.isFinite(wait) ? wait : undefined)
    }
    await Promise.allSettled(running)
    this.earlier += sumPresent(wants)
    this.wants = []
  }

  /** Wait for a request to end, a provider to arrive, `ms` to pass or the job to abort. */
  private async sleep (ms?: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      await new Promise<void>(resolve => {
        this.wakeUp = resolve
        onAbort = resolve
        this.signal.addEventListener('abort', onAbort, { once: true })
        if (ms !== undefined) timer = setTimeout(resolve, Math.max(0, ms))
      })
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) this.signal.removeEventListener('abort', onAbort)
      this.wakeUp = undefined
    }
  }

  /** Verified bytes present of the blobs of the current and earlier phases. */
  private verified (): number {
    return this.earlier + sumPresent(this.wants)
  }

  /**
   * With the total once every blob still to fetch has a known size: for a collection, once its
   * HashSeq is here and each child's size is proven.
   */
  private progressItem (): DownloadProgress {
    const bytes = this.verified()
    const received = Object.fromEntries([...this.providers.values()].filter(p => p.report.requests > 0).map(p => [p.id, p.received]))
    if (!this.lastPhase) return { type: 'download:progress', detail: { bytes, received } }
    let total = this.earlier
    for (const want of this.wants) {
      if (want.size === undefined) return { type: 'download:progress', detail: { bytes, received } }
      total += bytesOf(want.asked, want.size)
    }
    return { type: 'download:progress', detail: { bytes, total, received } }
  }

  /** Run one request, then read the store to see what it delivered and what is left. */
  private async fetch (provider: ProviderState, unit: Unit): Promise<void> {
    const request = new RunningRequest(provider, unit, this.options)
    const part = request.part
    provider.report.requests++
    this.emit({ type: 'download:try-provider', detail: { provider: provider.id, part } })
    this.running.add(request)
    const expected = request.expected
    let failure: Error | undefined
    try {
      failure = await request.run(this.remote, this.signal, added => {
        this.bytesReceived += added
        provider.received += added
        // Nearly done: time to ask this provider for its next stripe.
        if (expected !== undefined && request.received - added < expected * PIPELINE_AT && request.received >= expected * PIPELINE_AT) this.wake()
        if (request.lastData - this.lastProgress >= PROGRESS_MS) this.progress(request.lastData).catch(() => {}) // a store closing under us: the request itself fails
      })
    } finally {
      this.running.delete(request)
    }
    // What the store holds now decides what this provider delivered and what is left.
    let delivered = 0
    let left = false
    for (const { want, ranges } of unit) {
      // Read the store before letting the ranges go: until then they look missing and free.
      await this.refresh(want)
      release([{ want, ranges }])
      const asked = want.size === undefined ? ranges : ranges.canonicalize(want.size)
      // The ranges were missing when handed out, and no other request had them since.
      if (want.size !== undefined) delivered += bytesOf(asked.intersection(want.asked).difference(want.missing), want.size)
      const remaining = asked.intersection(want.missing)
      if (!remaining.isEmpty()) {
        left = true
        // A provider that ended early or said "not found" lacks the rest: ask it for other parts.
        // NotFound for a blob asked alone means none of it is there, whatever its size.
        if (failure?.name === 'NotFound' && unit.length === 1) {
          provider.lacks.set(want.hex, ChunkRanges.all())
        } else if (failure === undefined || failure.name === 'NotFound' || failure.name === 'MissingRange') {
          provider.lacks.set(want.hex, (provider.lacks.get(want.hex) ?? ChunkRanges.empty()).union(remaining))
        }
      }
    }
    credit(provider, delivered, (Date.now() - request.started) / 1000)
    if (failure === undefined) {
      this.emit({ type: 'download:part-complete', detail: { provider: provider.id, part, bytes: delivered } })
    } else if (isDiskError(failure)) {
      // The store cannot take the data (full, read-only, failing): no provider can help, so the
      // download ends with that error; what was recorded stays.
      this.abort(failure)
    } else if (!this.signal.aborted) {
      const reason = reasonOf(failure)
      judge(provider, failure, reason, this.options)
      this.emit({ type: 'download:provider-failed', detail: { provider: provider.id, part, reason, error: failure, dropped: provider.dropped } })
    }
    if (left || failure === undefined) this.emit(this.progressItem())
  }

  /** The verified total, read from the store: called at most every PROGRESS_MS while bytes arrive. */
  private async progress (now: number): Promise<void> {
    this.lastProgress = now
    await Promise.all(this.wants.filter(w => !w.inflight.isEmpty()).map(w => this.refresh(w)))
    this.emit(this.progressItem())
  }

  private async refresh (want: Want): Promise<void> {
    const held = coverage(await this.store.bitfield(want.hash), want.ranges)
    if (held.size !== undefined) want.size = held.size
    want.asked = held.asked
    want.missing = held.missing
    want.present = held.bytes
  }

  private reports (): Record<string, ProviderReport> {
    return Object.fromEntries([...this.providers.values()].map(p => [p.id, { ...p.report }]))
  }

  private failure (): DownloadFailed {
    const missing = this.wants.filter(w => !w.missing.isEmpty()).map(w => w.hex.slice(0, 12))
    const why = [...this.providers.values()].map(p => `${p.id}: ${p.report.lastError ?? (p.dropped ? 'dropped' : 'has none of what is missing')}`)
    return new DownloadFailed(`no provider could deliver ${missing.length} blob(s) (${missing.join(', ')}); ` +
      (why.length === 0 ? 'no providers were given' : why.join('; ')) + this.rejected.map(r => `; a provider was refused: ${r}`).join(''))
  }
}
