import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { Aborted, Timeout } from '../../protocol/errors.js'
import { DEFAULT_REQUEST_LIMITS } from '../../protocol/limits.js'
import { RangeSpecSeq } from '../../protocol/range-spec.js'
import type { GetRequest } from '../../protocol/request.js'
import { untilAborted } from '../../store/abort.js'
import { ProgressHandle } from '../../store/progress-handle.js'
import { hashArg } from '../../store/bao/validate.js'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore } from '../../store/interface.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { toRequest, type Remote } from '../remote.js'
import type { DownloaderOptions, DownloadOptions, DownloadProgress, DownloadRequest, DownloadResult, Providers, Strategy } from './interface.js'
import { resolvePeer, type PeerTarget } from '../net/peer.js'
import { Job } from './job.js'
import { DEFAULT_MIN_RATE } from '../net/transfer-watch.js'

const DEFAULTS: Required<DownloaderOptions> = {
  minStripeBytes: 1 << 20,
  maxStripeBytes: 16 << 20,
  perProvider: 2,
  batchBlobs: 32,
  idleTimeoutMs: 15000,
  minRate: DEFAULT_MIN_RATE,
  stallMs: 2000,
  maxFailures: 3,
  backoffMs: 250
}

/**
 * Turns "get this content from these providers" into verified data in the store, whatever the
 * providers do. Callers asking for the same content with the same strategy share one job.
 */
export class Downloader {
  private readonly jobs = new Map<string, { job: Job, callers: number }>()
  private readonly options: Required<DownloaderOptions>
  private readonly log: Logger
  private nextJob = 1
  private readonly observers = new Set<(item: DownloadProgress, request: DownloadRequest) => void>()

  /** `logger`: libp2p's `components.logger` (the node's); logs as `verity:downloader`. */
  constructor (private readonly store: BlobStore, private readonly remote: Remote, options: DownloaderOptions = {}, logger: ComponentLogger = defaultLogger()) {
    this.log = logger.forComponent('verity:downloader')
    this.options = { ...DEFAULTS, ...options }
    // A batch is one GetMany: within what a provider accepts (protocol/limits.ts).
    this.options.batchBlobs = Math.max(1, Math.min(this.options.batchBlobs, DEFAULT_REQUEST_LIMITS.maxHashes, DEFAULT_REQUEST_LIMITS.maxSeqEntries - 1))
  }

  /**
   * Hear every download's progress items, whoever started it, once per shared download, with the
   * request of the caller that started it (a gateway's on-demand fetches, said by `verity serve`).
   * A listener that throws is logged and does not disturb the download. Returns how to stop.
   */
  observe (listener: (item: DownloadProgress, request: DownloadRequest) => void): () => void {
    this.observers.add(listener)
    return () => { this.observers.delete(listener) }
  }

  download (options: DownloadOptions): DownloadHandle {
    const strategy: Strategy = options.strategy ?? 'split'
    if (strategy !== 'none' && strategy !== 'split') throw new TypeError(`unknown strategy ${String(strategy)}`)
    const timeoutMs = options.timeoutMs
    if (timeoutMs !== undefined && !(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`)
    const request = normalise(options.request)
    const providers = checkProviders(options.providers)
    const key = `${strategy} ${keyOf(request)}`
    let shared = this.jobs.get(key)
    if (shared === undefined) {
      const job = new Job(this.store, this.remote, request, strategy, this.options, this.log.newScope(String(this.nextJob++)))
      job.listen(item => {
        for (const observer of this.observers) {
          try {
            observer(item, options.request)
          } catch (err) {
            this.log.error('an observer of downloads failed on %s: %e', item.type, err)
          }
        }
      })
      const entry = { job, callers: 0 }
      shared = entry
      this.jobs.set(key, entry)
      job.result.finally(() => { if (this.jobs.get(key) === entry) this.jobs.delete(key) }).catch(() => {}) // the failure reaches each caller through its handle, and the job logs it
    }
    const entry = shared
    entry.job.addProviders(providers)
    entry.callers++
    const leave = (): void => {
      if (--entry.callers === 0 && this.jobs.get(key) === entry) {
        this.jobs.delete(key)
        entry.job.abort(new Aborted('every caller of this download aborted'))
      }
    }
    return new DownloadHandle(entry.job, options, leave)
  }
}

/**
 * One caller's view of a download: await it for the result, or iterate its progress items (a
 * `download:error` item comes last when it fails, and the iteration then throws the error).
 */
export class DownloadHandle extends ProgressHandle<DownloadResult, DownloadProgress> {
  constructor (job: Job, options: DownloadOptions, leave: () => void) {
    super(async emit => {
      const deadline = withDeadline(options.signal, options.timeoutMs)
      const stop = job.listen(item => {
        options.onProgress?.(item)
        emit(item)
      })
      try {
        return await untilAborted(job.result, deadline.signal)
      } catch (err) {
        throw err instanceof Error ? err : new Aborted('the download was aborted')
      } finally {
        deadline.clear()
        stop()
        leave()
      }
    }, { coalesce: item => item.type === 'download:progress' })
  }
}

function normalise (request: DownloadRequest): GetRequest | { many: Uint8Array[], ranges: RangeSpecSeq } {
  if (typeof request === 'object' && 'type' in request && request.type === 'getMany') {
    return { many: request.hashes.map(h => hashArg('hash', h)), ranges: request.ranges ?? RangeSpecSeq.fromRangesInfinite([ChunkRanges.all()]) }
  }
  return toRequest(request as Exclude<DownloadRequest, { type: 'getMany' }>)
}

function keyOf (request: GetRequest | { many: Uint8Array[], ranges: RangeSpecSeq }): string {
  const seq = (ranges: RangeSpecSeq): string => ranges.entries.map(e => `${e.offset}=${e.ranges.toString()}`).join(';')
  if ('many' in request) return `many ${request.many.map(toHex).join(',')} ${seq(request.ranges)}`
  return `get ${toHex(request.hash)} ${seq(request.ranges)}`
}

/** The caller's signal, aborted with Timeout once `timeoutMs` has passed too; `clear` when done. */
function withDeadline (signal: AbortSignal | undefined, timeoutMs: number | undefined): { signal: AbortSignal | undefined, clear: () => void } {
  if (timeoutMs === undefined) return { signal, clear: () => {} }
  const deadline = new AbortController()
  const timer = setTimeout(() => { deadline.abort(new Timeout(`the download did not finish within ${timeoutMs} ms`)) }, timeoutMs)
  return { signal: signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]), clear: () => { clearTimeout(timer) } }
}

/**
 * A list given up front is checked before anything starts, so a bad entry fails the call with
 * InvalidPeer (or InvalidTicket) naming it rather than a download failing later with no provider.
 * An async source is checked entry by entry as it yields (a bad entry is reported and skipped).
 */
function checkProviders (providers: Providers): Providers {
  if (providers === null || typeof providers !== 'object' || !(Symbol.iterator in providers || Symbol.asyncIterator in providers)) {
    throw new TypeError(`providers must be an iterable or async iterable of peers, got ${providers === null ? 'null' : typeof providers}`)
  }
  if (Symbol.asyncIterator in providers) return providers
  const list = [...providers as Iterable<PeerTarget>] // once: a generator cannot be read twice
  for (const target of list) resolvePeer(target)
  return list
}
