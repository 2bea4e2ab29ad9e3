import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { toHex } from '../../store/hash-text.js'
import type { PeerTarget } from '../net/peer.js'
import type { FailureReason, ProviderReport } from './interface.js'

/**
 * What a download knows while it runs, shared by the planner (planner.ts), the request runner
 * (runner.ts) and the loop (job.ts).
 */

/** One blob and the chunk ranges of it asked for. */
export interface Want {
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

/** One provider of a download: how it did, and what it is owed (backoff) or said it lacks. */
export interface ProviderState {
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
  /** Bytes read from it so far in this download, requests in flight included (hash pairs too). */
  received: number
}

/** One request's worth of work: some blobs, and the chunks of each. */
export type Unit = Array<{ want: Want, ranges: ChunkRanges }>

/** A request under way, as the planner sees it. */
export interface RunningView {
  provider: ProviderState
  unit: Unit
  /** When its last bytes came (ms, Date.now()). */
  lastData: number
  /** Bytes read so far, and about how many the answer has (when every size is known). */
  received: number
  expected: number | undefined
  /** Bytes per second over about the last `ms`, or undefined while it is younger than that. */
  rateOver: (ms: number) => number | undefined
}

export function newWant (hash: Uint8Array, ranges: ChunkRanges): Want {
  return { hash, hex: toHex(hash), ranges, asked: ranges, missing: ranges, inflight: ChunkRanges.empty(), present: 0 }
}

export function newProvider (id: string, target: PeerTarget): ProviderState {
  return { id, target, report: { bytes: 0, requests: 0, failures: 0, bad: false }, dropped: false, readyAt: 0, lacks: new Map(), received: 0 }
}

export function sumPresent (wants: Want[]): number {
  return wants.reduce((sum, w) => sum + w.present, 0)
}

export interface JudgeOptions {
  /** Failures other than bad data before a provider is dropped. */
  maxFailures: number
  /** First wait before a failed provider is asked again; doubles each time. */
  backoffMs: number
}

/**
 * What a provider's failed request means for it: bad data drops it (and marks its report bad), a
 * rate below the minimum drops it, not-found changes nothing here (the caller records what it
 * lacks), any other error backs it off, doubling, and drops it after `maxFailures`.
 */
export function judge (provider: ProviderState, failure: Error, reason: FailureReason, options: JudgeOptions, now = Date.now()): void {
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
    if (errors >= options.maxFailures) provider.dropped = true
    else provider.readyAt = now + options.backoffMs * 2 ** (errors - 1)
  }
}

/** A request delivered `bytes` in `seconds`: the provider's rate (a running average) follows. */
export function credit (provider: ProviderState, bytes: number, seconds: number): void {
  provider.report.bytes += bytes
  if (bytes > 0 && seconds > 0) provider.rate = provider.rate === undefined ? bytes / seconds : (provider.rate + bytes / seconds) / 2
}
