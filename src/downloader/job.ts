import { Timeout } from '../../protocol/errors.js'
import { DEFAULT_REQUEST_LIMITS } from '../../protocol/limits.js'
import { nextSelected, RangeSpecSeq } from '../../protocol/range-spec.js'
import type { GetRequest } from '../../protocol/request.js'
import { CHUNK_SIZE, GROUP_SIZE } from '../../store/bao/constants.js'
import { HashSeqReader } from '../../store/hash-seq.js'
import { isDiskError } from '../../store/disk-errors.js'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore, TempTag } from '../../store/interface.js'
import { ChunkRanges, MAX_CHUNK } from '../../store/ranges/chunk-ranges.js'
import { resolvePeer, type PeerTarget } from '../net/peer.js'
import { bytesOf, coverage } from '../../store/ranges/coverage.js'
import type { Remote } from '../remote.js'
import { TransferWatch } from '../net/transfer-watch.js'
import type { DownloaderOptions, DownloadProgress, DownloadResult, FailureReason, ProviderReport, Providers, Strategy } from './interface.js'

const GROUP_CHUNKS = GROUP_SIZE / CHUNK_SIZE
/** Errors that prove a provider sent data not belonging to the hash. */
const BAD_DATA = new Set(['LeafHashMismatch', 'ParentHashMismatch', 'InvalidSize', 'TrailingData'])
/** A provider's next stripe is asked for once this share of its current one has arrived. */
const PIPELINE_AT = 0.75
/** A running request this many times slower than a waiting provider gives its ranges up. */
const CRAWL_RATIO = 10
/** What a provider not measured yet is taken to manage (so a request below 100 KiB/s makes way for it). */
const UNTRIED_RATE = 1 << 20
/** Progress items while bytes arrive come at most this often. */
const PROGRESS_MS = 200

/** Every caller's download failed: no provider could deliver what is missing. */
export class DownloadFailed extends Error {
  static override name = 'DownloadFailed'
  constructor (message: string) {
    super(message)
    this.name = 'DownloadFailed'
  }
}

/** One blob and the chunk ranges of it asked for. */
interface Want {
  hash: Uint8Array
  hex: string
  ranges: ChunkRanges
  /** From the store's bitfield, once any part of the blob (or its size proof) is here. */
  size?: number
  /** The asked-for chunks, cut at the blob's end once the size is known. */
  asked: ChunkRanges
  /** Asked-for chunks not yet present. */
  missing: ChunkRanges
  /** Chunks handed to a request now. */
  inflight: ChunkRanges
  /** Verified asked-for bytes present. */
  present: number
}

interface Provider {
  id: string
  target: PeerTarget
  report: ProviderReport
  dropped: boolean
  /** Not asked again before this time (backoff after a failure). */
  readyAt: number
  /** Chunks it said it does not have, by blob. */
  lacks: Map<string, ChunkRanges>
  /** Bytes per second over its finished requests. */
  rate?: number
}

type Unit = Array<{ want: Want, ranges: ChunkRanges }>

/** A request under way: who serves it, what it asked for, when its last bytes came. */
interface Running {
  provider: Provider
  unit: Unit
  lastData: number
  /** Bytes read so far, and about how many the answer has (when every size is known). */
  received: number
  expected: number | undefined
  /** Its bytes over time: idle, minimum rate, recent rate. */
  watch: TransferWatch
  stop: (reason: Error) => void
}

/**
 * One download, shared by every caller asking for the same content. It plans from the store:
 * what is missing is read from the bitfields after every request, so whatever a failed or lying
 * provider left undone simply goes to the next request.
 */
export class Job {
  private readonly controller = new AbortController()
  private readonly providers = new Map<string, Provider>()
  private readonly listeners = new Set<(item: DownloadProgress) => void>()
  private wants: Want[] = []
  /** The current phase is the last: no children still to learn of, so a total can be given. */
  private lastPhase = false
  private pendingSources = 0
  private wakeUp: (() => void) | undefined
  private bytesReceived = 0
  private localBytes = 0
  private lastProgress = 0
  /** Verified bytes of the phases done. */
  private earlier = 0
  private readonly pins: TempTag[] = []
  private readonly running = new Set<Running>()
  readonly result: Promise<DownloadResult>

  constructor (private readonly store: BlobStore, private readonly remote: Remote, private readonly request: GetRequest | { many: Uint8Array[], ranges: RangeSpecSeq },
    private readonly strategy: Strategy, private readonly options: Required<DownloaderOptions>) {
    this.result = this.run()
    this.result.catch(() => {})
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
          const id = resolvePeer(target).id
          if (!this.providers.has(id)) {
            this.providers.set(id, { id, target, report: { bytes: 0, requests: 0, failures: 0, bad: false }, dropped: false, readyAt: 0, lacks: new Map() })
          }
          this.wake()
        }
      } catch (err) {
        this.emit({ type: 'providerFailed', provider: 'providers', part: '', reason: 'error', error: err as Error, dropped: true })
      } finally {
        this.pendingSources--
        this.wake()
      }
    })()
  }

  private emit (item: DownloadProgress): void {
    for (const listener of this.listeners) listener(item)
  }

  private wake (): void {
    const wake = this.wakeUp
    this.wakeUp = undefined
    wake?.()
  }

  private async run (): Promise<DownloadResult> {
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
      return result
    } catch (err) {
      this.emit({ type: 'downloadError', error: err as Error })
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
        while (!provider.dropped && provider.readyAt <= now && this.hasRoom(provider)) {
          const unit = this.take(provider)
          if (unit === undefined) break
          const request = this.fetch(provider, unit).finally(() => { running.delete(request); this.wake() })
          running.add(request)
          if (this.strategy === 'none') break
        }
      }
      // Wake when a request ends, a provider arrives, a backoff is over or a stall may be due.
      const backingOff = [...this.providers.values()].filter(p => !p.dropped && p.readyAt > now)
      if (running.size === 0 && backingOff.length === 0 && this.pendingSources === 0) {
        const usable = [...this.providers.values()].some(p => !p.dropped && this.take(p, true) !== undefined)
        if (!usable) throw this.failure()
      }
      let wait = Math.min(...backingOff.map(p => p.readyAt - now))
      if (running.size > 0 && this.takeOverStalled(now)) wait = Math.min(wait, this.options.stallMs / 2)
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
    if (!this.lastPhase) return { type: 'progress', bytes }
    let total = this.earlier
    for (const want of this.wants) {
      if (want.size === undefined) return { type: 'progress', bytes }
      total += bytesOf(want.asked, want.size)
    }
    return { type: 'progress', bytes, total }
  }

  /** Next piece of work for `provider`, or undefined. With `peek`, nothing is reserved. */
  private take (provider: Provider, peek = false): Unit | undefined {
    const unit: Unit = []
    // Within what a provider accepts (protocol/limits.ts): a fragmented blob is asked for in parts.
    let rangesLeft = DEFAULT_REQUEST_LIMITS.maxRanges
    for (const want of this.wants) {
      if (rangesLeft < 2) break
      let free = want.missing.difference(want.inflight)
      const lacks = provider.lacks.get(want.hex)
      if (lacks !== undefined) free = free.difference(lacks)
      if (free.isEmpty()) continue
      // One range kept spare for the size proof (the last chunk) added below.
      free = free.head(Math.min(DEFAULT_REQUEST_LIMITS.maxRangesPerSpec, rangesLeft) - 1)
      rangesLeft -= free.rangeCount + 1
      if (this.strategy === 'none') {
        unit.push({ want, ranges: free })
        continue
      }
      if (want.size === undefined) {
        // Size unknown: one request learns it (the last chunk proves it) with the first stripe.
        if (!want.inflight.isEmpty()) continue
        if (this.wants.length === 1) {
          unit.push({ want, ranges: carve(free, this.stripeChunks(provider)).union(ChunkRanges.lastChunk()) })
          break
        }
        unit.push({ want, ranges: free })
      } else if (free.countUpTo(Infinity) * CHUNK_SIZE > this.options.minStripeBytes) {
        if (unit.length > 0) break
        unit.push({ want, ranges: carve(free, this.stripeChunks(provider, free.countUpTo(Infinity))) })
        break
      } else {
        unit.push({ want, ranges: free })
      }
      if (unit.length >= this.options.batchBlobs) break
    }
    if (unit.length === 0) return undefined
    if (!peek) for (const { want, ranges } of unit) want.inflight = want.inflight.union(ranges)
    return unit
  }

  /**
   * Room for another request: under the provider's limit, and (striping) each of its requests
   * nearly done, so the next stripe overlaps only the tail of the last one. Each provider then
   * streams into about one import at a time, with no gap between its stripes.
   */
  private hasRoom (provider: Provider): boolean {
    const limit = this.strategy === 'none' ? 1 : this.options.perProvider
    let active = 0
    for (const request of this.running) {
      if (request.provider !== provider) continue
      if (++active >= limit) return false
      if (request.expected !== undefined && request.received < request.expected * PIPELINE_AT) return false
    }
    return true
  }

  /**
   * Providers with room and nothing left to take wait for the requests under way. One of those
   * that has sent nothing for `stallMs` (a dead peer, a stuck dial), or that sent over the last
   * `stallMs` less than a tenth of what a waiting provider has shown it can (1 MiB/s assumed for
   * one not measured yet: a provider dripping bytes), is stopped, so its ranges go to a waiting provider now rather than after the idle
   * timeout or the minimum-rate window; it fails with Timeout and is asked again after its
   * backoff. Returns whether a provider is waiting so.
   */
  private takeOverStalled (now: number): boolean {
    if (this.strategy === 'none') return false
    const waiting = [...this.providers.values()].filter(p =>
      !p.dropped && p.readyAt <= now && this.hasRoom(p) && this.take(p, true) === undefined)
    if (waiting.length === 0) return false
    for (const request of this.running) {
      const others = waiting.filter(p => p !== request.provider)
      if (others.length === 0) continue
      const quiet = now - request.lastData
      const recent = request.watch.rateOver(this.options.stallMs)
      const best = Math.max(...others.map(p => p.rate ?? UNTRIED_RATE))
      const crawling = recent !== undefined && recent * CRAWL_RATIO < best
      if (quiet < this.options.stallMs && !crawling) continue
      const helped = others.some(p => request.unit.some(({ want, ranges }) => {
        const lacks = p.lacks.get(want.hex)
        return !ranges.intersection(want.missing).difference(lacks ?? ChunkRanges.empty()).isEmpty()
      }))
      if (!helped) continue
      request.stop(new Timeout(quiet >= this.options.stallMs
        ? `no data from ${request.provider.id} for ${quiet} ms while other providers waited`
        : `${request.provider.id} sent ${Math.round(recent ?? 0)} B/s over the last ${this.options.stallMs} ms while a provider of ${Math.round(best)} B/s waited`))
    }
    return true
  }

  /**
   * A faster provider takes a longer stripe (about half a second at its measured rate), but no
   * more than its share of what is left, so every provider gets some.
   */
  private stripeChunks (provider: Provider, free = Infinity): number {
    const usable = [...this.providers.values()].filter(p => !p.dropped).length
    const share = free * CHUNK_SIZE / Math.max(1, usable)
    const bytes = Math.min(this.options.maxStripeBytes, share, Math.max(this.options.minStripeBytes, (provider.rate ?? 0) / 2))
    const chunks = Math.max(GROUP_CHUNKS, Math.floor(bytes / GROUP_SIZE) * GROUP_CHUNKS)
    // Rounding down to whole groups must not leave a sliver for a request of its own.
    return free - chunks < GROUP_CHUNKS ? free : chunks
  }

  private async fetch (provider: Provider, unit: Unit): Promise<void> {
    const part = unit.map(({ want, ranges }) => `${want.hex}:${ranges.toString()}`).join(',')
    provider.report.requests++
    this.emit({ type: 'tryProvider', provider: provider.id, part })
    // Stopped by the job, by the stall rule (`stop`), or by the watch: idle, or below the minimum rate.
    const stopped = new AbortController()
    const watch = new TransferWatch({ idleTimeoutMs: this.options.idleTimeoutMs, minRate: this.options.minRate })
    const signal = AbortSignal.any([this.signal, stopped.signal, watch.signal])
    const sized = unit.every(({ want }) => want.size !== undefined)
    const expected = sized ? unit.reduce((sum, { want, ranges }) => sum + bytesOf(ranges.canonicalize(want.size as number), want.size as number), 0) : undefined
    const running: Running = { provider, unit, lastData: Date.now(), received: 0, expected, watch, stop: reason => { stopped.abort(reason) } }
    this.running.add(running)
    const started = running.lastData
    const onProgress = (event: { type: string, bytesRead?: number }): void => {
      if (event.type !== 'progress') return
      const before = running.received
      running.received = event.bytesRead ?? 0
      watch.progress(running.received)
      this.bytesReceived += running.received - before
      running.lastData = Date.now()
      // Nearly done: time to ask this provider for its next stripe.
      if (expected !== undefined && before < expected * PIPELINE_AT && running.received >= expected * PIPELINE_AT) this.wake()
      if (running.lastData - this.lastProgress >= PROGRESS_MS) this.progress(running.lastData).catch(() => {}) // a store closing under us: the request itself fails
    }
    let failure: Error | undefined
    try {
      // The job watches its requests itself (the watch above), so the remote's own watch is off.
      const options = { signal, onProgress, idleTimeoutMs: Infinity, minRate: false as const }
      if (unit.length === 1) {
        const { want, ranges } = unit[0] as Unit[number]
        await this.remote.executeGet(provider.target, { hash: want.hash, ranges: RangeSpecSeq.root(ranges) }, options)
      } else {
        await this.remote.executeGetMany(provider.target, unit.map(u => u.want.hash), RangeSpecSeq.fromRanges(unit.map(u => u.ranges)), options)
      }
    } catch (err) {
      const reason = stopped.signal.aborted ? stopped.signal : watch.signal.aborted ? watch.signal : undefined
      failure = reason === undefined ? err as Error : reason.reason as Error
    } finally {
      watch.stop()
      this.running.delete(running)
    }
    // What the store holds now decides what this provider delivered and what is left.
    let delivered = 0
    let left = false
    for (const { want, ranges } of unit) {
      // Read the store before letting the ranges go: until then they look missing and free.
      await this.refresh(want)
      want.inflight = want.inflight.difference(ranges)
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
    provider.report.bytes += delivered
    const seconds = (Date.now() - started) / 1000
    if (delivered > 0 && seconds > 0) provider.rate = provider.rate === undefined ? delivered / seconds : (provider.rate + delivered / seconds) / 2
    if (failure === undefined) {
      this.emit({ type: 'partComplete', provider: provider.id, part, bytes: delivered })
    } else if (isDiskError(failure)) {
      // The store cannot take the data (full, read-only, failing): no provider can help, so the
      // download ends with that error; what was recorded stays.
      this.abort(failure)
    } else if (!this.signal.aborted) {
      const reason = reasonOf(failure)
      provider.report.failures++
      provider.report.lastError = `${failure.name}: ${failure.message}`
      if (reason === 'badData') {
        provider.report.bad = true
        provider.dropped = true
      } else if (reason === 'tooSlow') {
        // Below the minimum rate for a whole window: asked again, it would hold ranges as long.
        provider.dropped = true
      } else if (reason === 'error') {
        const errors = provider.report.failures
        if (errors >= this.options.maxFailures) provider.dropped = true
        else provider.readyAt = Date.now() + this.options.backoffMs * 2 ** (errors - 1)
      }
      this.emit({ type: 'providerFailed', provider: provider.id, part, reason, error: failure, dropped: provider.dropped })
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
      (why.length === 0 ? 'no providers were given' : why.join('; ')))
  }
}

function reasonOf (failure: Error): FailureReason {
  if (BAD_DATA.has(failure.name)) return 'badData'
  if (failure.name === 'NotFound' || failure.name === 'MissingRange') return 'notFound'
  if (failure.name === 'TooSlow') return 'tooSlow'
  return 'error'
}

function sumPresent (wants: Want[]): number {
  return wants.reduce((sum, w) => sum + w.present, 0)
}

function newWant (hash: Uint8Array, ranges: ChunkRanges): Want {
  return { hash, hex: toHex(hash), ranges, asked: ranges, missing: ranges, inflight: ChunkRanges.empty(), present: 0 }
}

/** The first `chunks` chunks of `ranges`, cut at a group boundary. */
function carve (ranges: ChunkRanges, chunks: number): ChunkRanges {
  let carved = ChunkRanges.empty()
  let left = chunks
  for (const [start, end] of ranges.ranges()) {
    if (left <= 0) break
    // "The last chunk, whatever the size" (a size proof asked for alone) is one piece as it is.
    if (start >= MAX_CHUNK) return carved.union(ChunkRanges.lastChunk())
    const cut = Math.min(end, Math.ceil((start + left) / GROUP_CHUNKS) * GROUP_CHUNKS)
    carved = carved.union(ChunkRanges.range(start, cut))
    left -= cut - start
  }
  return carved
}
