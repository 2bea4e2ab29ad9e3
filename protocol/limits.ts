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
  /**
   * Ranges an Observe may watch: every change of the blob is compared against them, for every
   * observer. @default 256
   */
  maxObserveRanges: number
}

export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  maxRequestSize: 1 << 20,
  maxRangesPerSpec: 4096,
  maxSeqEntries: 4096,
  maxRanges: 16384,
  maxHashes: 4096,
  maxObserveRanges: 256
})

/**
 * Counts what a request being decoded has asked for so far, and throws RequestTooLarge the moment
 * it passes a limit: before the values over the limit are read.
 */
export class RangeBudget {
  private ranges = 0

  /**
   * `charge` hears, before each part is decoded, about what it will cost in memory (`charge`
   * may throw to stop the decoding: the provider takes it from the request-byte budget, since a
   * decoded request costs far more than its bytes: a Get of 4,096 entries of 4 ranges, 41 KB on
   * the wire, about 1 MiB of heap).
   */
  constructor (readonly limits: Readonly<RequestLimits> = DEFAULT_REQUEST_LIMITS, private readonly charge: (bytes: number) => void = () => {}) {}

  /** A RangeSpec with `boundaries` values follows. */
  spec (boundaries: number): void {
    this.charge(BOUNDARY_COST * boundaries)
    const ranges = Math.ceil(boundaries / 2)
    if (ranges > this.limits.maxRangesPerSpec) {
      throw new RequestTooLarge('maxRangesPerSpec', ranges, this.limits.maxRangesPerSpec, `a RangeSpec of ${ranges} ranges is over the limit of ${this.limits.maxRangesPerSpec}`)
    }
    this.ranges += ranges
    if (this.ranges > this.limits.maxRanges) {
      throw new RequestTooLarge('maxRanges', this.ranges, this.limits.maxRanges, `the request asks for more than ${this.limits.maxRanges} ranges in all`)
    }
  }

  /** An Observe's RangeSpec with `boundaries` values follows. */
  observe (boundaries: number): void {
    const ranges = Math.ceil(boundaries / 2)
    if (ranges > this.limits.maxObserveRanges) {
      throw new RequestTooLarge('maxObserveRanges', ranges, this.limits.maxObserveRanges, `an Observe of ${ranges} ranges is over the limit of ${this.limits.maxObserveRanges}`)
    }
  }

  /** A GetMany with `count` hashes follows. */
  hashes (count: number): void {
    this.charge(HASH_COST * count)
    if (count > this.limits.maxHashes) {
      throw new RequestTooLarge('maxHashes', count, this.limits.maxHashes, `a GetMany of ${count} hashes is over the limit of ${this.limits.maxHashes}`)
    }
  }

  /** A RangeSpecSeq with `count` entries follows. */
  entries (count: number): void {
    this.charge(ENTRY_COST * count)
    if (count > this.limits.maxSeqEntries) {
      throw new RequestTooLarge('maxSeqEntries', count, this.limits.maxSeqEntries, `a RangeSpecSeq of ${count} entries is over the limit of ${this.limits.maxSeqEntries}`)
    }
  }
}

/** Heap bytes of one decoded RangeSpecSeq entry (its object, a ChunkRanges, an array), about. */
const ENTRY_COST = 240
/** Heap bytes of one range boundary (a number in an array, with the array's slack), about. */
const BOUNDARY_COST = 16
/** Heap bytes of one GetMany hash beyond its 32 bytes (a view object), about. */
const HASH_COST = 96
