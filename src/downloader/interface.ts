import type { ProgressEvent } from 'progress-events'
import type { RangeSpecSeq } from '../../protocol/range-spec.js'
import type { PeerTarget } from '../net/peer.js'
import type { Content } from '../remote.js'
import type { MinRate } from '../net/transfer-watch.js'

/** `none`: one provider at a time. `split`: every provider at once, one blob striped across them. */
export type Strategy = 'none' | 'split'

/** GetMany: entry i of `ranges` applies to hashes[i] (every hash whole by default). */
export interface GetManyRequest {
  type: 'getMany'
  hashes: Uint8Array[]
  ranges?: RangeSpecSeq
}

/** A raw hash, a hash with its format, a Get request or a GetMany request. */
export type DownloadRequest = Content | GetManyRequest

/** Providers known up front, or an async iterable that may yield more while the download runs. */
export type Providers = Iterable<PeerTarget> | AsyncIterable<PeerTarget>

/**
 * Why a provider's request failed: it sent data that does not verify, lacks it, sent less than
 * the minimum rate over a whole window, or anything else.
 */
export type FailureReason = 'badData' | 'notFound' | 'tooSlow' | 'error'

/** What a download reports, in js-libp2p's progress event shape (`{ type, detail }`). */
export type DownloadProgress =
  /** A request to `provider` for `part` (hash:chunk ranges, comma separated for a batch) starts. */
  | ProgressEvent<'download:try-provider', { provider: string, part: string }>
  /**
   * A request failed; `dropped` when the provider gets no more requests in this download. An
   * entry of the providers that is no peer comes as this with `provider: 'providers'`.
   */
  | ProgressEvent<'download:provider-failed', { provider: string, part: string, reason: FailureReason, error: Error, dropped: boolean }>
  /** A request ended with its part verified and stored; `bytes` of it came from `provider`. */
  | ProgressEvent<'download:part-complete', { provider: string, part: string, bytes: number }>
  /**
   * Verified bytes of what was asked for, present now, counting what was already local; `total`
   * once the sizes of all that is being fetched are known; `received`, by peer id, the bytes read
   * so far from each provider asked (requests in flight included, hash pairs too), so a caller
   * can show each provider's share while the download runs.
   */
  | ProgressEvent<'download:progress', { bytes: number, total?: number, received?: Record<string, number> }>
  /** The download failed with `error` (the last item). */
  | ProgressEvent<'download:error', { error: Error }>

export interface DownloadOptions {
  request: DownloadRequest
  providers: Providers
  /** @default 'split' */
  strategy?: Strategy
  /** Aborts this caller's interest; the shared job stops when every caller has aborted. */
  signal?: AbortSignal
  /**
   * This caller's deadline: past it, its download fails with Timeout (its interest ends, as with
   * an abort). Undefined: none.
   */
  timeoutMs?: number
  onProgress?: (item: DownloadProgress) => void
}

export interface ProviderReport {
  /** Verified bytes this provider delivered. */
  bytes: number
  requests: number
  failures: number
  /** It sent data that did not verify, and was dropped. */
  bad: boolean
  lastError?: string
}

export interface DownloadResult {
  /** Verified bytes of what was asked for that were here before the download. */
  localBytes: number
  /** Verified bytes of what was asked for, all present now. */
  bytes: number
  /** Bytes read from the network, hash pairs and all. */
  bytesReceived: number
  /** By provider peer id. */
  providers: Record<string, ProviderReport>
}

export interface DownloaderOptions {
  /** Smallest stripe of one blob given to one provider. @default 1 MiB */
  minStripeBytes?: number
  /** Largest stripe: a fast provider gets about half a second of work. @default 16 MiB */
  maxStripeBytes?: number
  /** Requests in flight per provider. @default 2 */
  perProvider?: number
  /** Small blobs (HashSeq children, GetMany entries) asked for in one request. @default 32 */
  batchBlobs?: number
  /** A request that receives nothing for this long fails with Timeout. @default 15000 */
  idleTimeoutMs?: number
  /**
   * A request that moves less than this over a whole window fails with TooSlow and its provider
   * is dropped from the download; `false` for no minimum. @default DEFAULT_MIN_RATE (4 KiB/s over 20 s)
   */
  minRate?: MinRate | false
  /**
   * A request silent this long is stopped when another provider has nothing to do, and its ranges
   * go to that provider. @default 2000
   */
  stallMs?: number
  /** Failures other than bad data before a provider is dropped. @default 3 */
  maxFailures?: number
  /** First wait before a failed provider is asked again; doubles each time. @default 250 */
  backoffMs?: number
}
