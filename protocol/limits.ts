import { RequestTooLarge } from './errors.js'

/**
 * What one request may ask of a provider. Every request is decoded against these before any of
 * its work starts; one over a limit is refused with RequestTooLarge (status 6 on the framed
 * protocol, a reset on `/iroh-bytes/4`) and the connection stays up. They bound what decoding
 * and walking a request cost: memory in proportion to its ranges, time linear in them.
 * docs/limits-and-security.md lists them with the reasons for their defaults.
 */
export interface RequestLimits {
  /** Request body bytes after the type byte (PROTOCOL.md section 5). @default 1 MiB */
  maxRequestSize: number
  /** Ranges in one RangeSpec (a range = two boundaries, the last one may be open). @default 4096 */
  maxRangesPerSpec: number
  /** Entries in one RangeSpecSeq. @default 4096 */
  maxSeqEntries: number
  /** Ranges over every RangeSpec of one request together. @default 16384 */
  maxRanges: number
  /** Hashes in one GetMany. @default 4096 */
  maxHashes: number
}

export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  maxRequestSize: 1 << 20,
  maxRangesPerSpec: 4096,
  maxSeqEntries: 4096,
  maxRanges: 16384,
  maxHashes: 4096
})

/**
 * Counts what a request being decoded has asked for so far, and throws RequestTooLarge the moment
 * it passes a limit: before the values over the limit are read.
 */
export class RangeBudget {
  private ranges = 0

  constructor (readonly limits: Readonly<RequestLimits> = DEFAULT_REQUEST_LIMITS) {}

  /** A RangeSpec with `boundaries` values follows. */
  spec (boundaries: number): void {
    const ranges = Math.ceil(boundaries / 2)
    if (ranges > this.limits.maxRangesPerSpec) {
      throw new RequestTooLarge('maxRangesPerSpec', ranges, this.limits.maxRangesPerSpec, `a RangeSpec of ${ranges} ranges is over the limit of ${this.limits.maxRangesPerSpec}`)
    }
    this.ranges += ranges
    if (this.ranges > this.limits.maxRanges) {
      throw new RequestTooLarge('maxRanges', this.ranges, this.limits.maxRanges, `the request asks for more than ${this.limits.maxRanges} ranges in all`)
    }
  }

  /** A GetMany with `count` hashes follows. */
  hashes (count: number): void {
    if (count > this.limits.maxHashes) {
      throw new RequestTooLarge('maxHashes', count, this.limits.maxHashes, `a GetMany of ${count} hashes is over the limit of ${this.limits.maxHashes}`)
    }
  }

  /** A RangeSpecSeq with `count` entries follows. */
  entries (count: number): void {
    if (count > this.limits.maxSeqEntries) {
      throw new RequestTooLarge('maxSeqEntries', count, this.limits.maxSeqEntries, `a RangeSpecSeq of ${count} entries is over the limit of ${this.limits.maxSeqEntries}`)
    }
  }
}
