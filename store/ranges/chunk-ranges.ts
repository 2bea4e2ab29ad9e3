import { CHUNK_SIZE } from '../bao/constants.js'

/**
 * Chunk numbers at or above this are all the same to verity: "past the end of any blob". Decoded
 * RangeSpec values above it saturate to it, and it encodes as u64::MAX, so iroh's last-chunk
 * request (`u64::MAX..`) round-trips byte for byte.
 */
export const MAX_CHUNK = 2 ** 53

/**
 * A normalised set of chunk numbers, held as sorted boundaries `[s0, e0, s1, e1, ...]` of half-open
 * ranges; an odd count ends with an open range. Immutable: every operation returns a new set.
 */
export class ChunkRanges {
  readonly boundaries: readonly number[]

  private constructor (boundaries: readonly number[]) {
    this.boundaries = boundaries
  }

  private static readonly EMPTY = new ChunkRanges([])
  private static readonly ALL = new ChunkRanges([0])
  private static readonly LAST = new ChunkRanges([MAX_CHUNK])

  static empty (): ChunkRanges {
    return ChunkRanges.EMPTY
  }

  static all (): ChunkRanges {
    return ChunkRanges.ALL
  }

  /** Chunks `start..` (open-ended). */
  static from (start: number): ChunkRanges {
    start = chunkArg('start', start)
    return start >= MAX_CHUNK ? ChunkRanges.LAST : new ChunkRanges([start])
  }

  /** Chunks `0..end`. */
  static to (end: number): ChunkRanges {
    return ChunkRanges.range(0, end)
  }

  /** Chunks `start..end`, empty when end <= start. */
  static range (start: number, end: number): ChunkRanges {
    start = Math.min(chunkArg('start', start), MAX_CHUNK)
    end = Math.min(chunkArg('end', end), MAX_CHUNK)
    if (end <= start) return ChunkRanges.EMPTY
    if (end === MAX_CHUNK) return new ChunkRanges([start])
    return new ChunkRanges([start, end])
  }

  /** One chunk. */
  static chunk (chunk: number): ChunkRanges {
    return ChunkRanges.range(chunk, chunk + 1)
  }

  /**
   * The last chunk of any blob: a request for it proves the blob's size (PROTOCOL.md section 3).
   */
  static lastChunk (): ChunkRanges {
    return ChunkRanges.LAST
  }

  /** The chunks covering bytes `start..end` (end exclusive): floor(start/1024)..ceil(end/1024). */
  static fromByteRange (start: number, end: number): ChunkRanges {
    start = chunkArg('start', start)
    end = chunkArg('end', end)
    if (end <= start) return ChunkRanges.EMPTY
    return ChunkRanges.range(Math.floor(start / CHUNK_SIZE), Math.ceil(end / CHUNK_SIZE))
  }

  /**
   * A set from boundaries that may be unsorted in the weak sense iroh tolerates on the wire
   * (equal neighbours, i.e. empty ranges): each pair is a range and the set is their union.
   * Throws RangeError for decreasing boundaries.
   */
  static fromBoundaries (boundaries: readonly number[]): ChunkRanges {
    // One pass: the ranges come sorted, so each one either touches the last (merge) or follows it.
    // Linear in the count, whatever a peer sends (a union per range was quadratic).
    const result: number[] = []
    let previous = 0
    for (let i = 0; i < boundaries.length; i += 2) {
      const start = Math.min(chunkArg(`boundaries[${i}]`, boundaries[i] as number), MAX_CHUNK)
      const hasEnd = i + 1 < boundaries.length
      const end = hasEnd ? Math.min(chunkArg(`boundaries[${i + 1}]`, boundaries[i + 1] as number), MAX_CHUNK) : MAX_CHUNK
      if (start < previous || end < start) {
        throw new RangeError(`boundaries must not decrease, got ${boundaries.length > 16 ? `${boundaries.length} values, ${start} after ${previous} at ${i}` : JSON.stringify(boundaries)}`)
      }
      previous = end
      // Empty ranges select nothing, except an open range at MAX_CHUNK: "the last chunk".
      if (end === start && (hasEnd || start !== MAX_CHUNK)) continue
      if (result.length % 2 === 1) continue // already open-ended: this range is inside it
      if (result.length > 0 && result[result.length - 1] === start) result.pop()
      else result.push(start)
      if (end !== MAX_CHUNK) result.push(end)
    }
    return new ChunkRanges(result)
  }

  isEmpty (): boolean {
    return this.boundaries.length === 0
  }

  isAll (): boolean {
    return this.boundaries.length === 1 && this.boundaries[0] === 0
  }

  /** Whether the set ends with an open range. */
  isOpen (): boolean {
    return this.boundaries.length % 2 === 1
  }

  contains (chunk: number): boolean {
    return upperBound(this.boundaries, chunk) % 2 === 1
  }

  /** Whether every chunk of `start..end` is in the set (true for an empty range). */
  containsRange (start: number, end: number): boolean {
    if (end <= start) return true
    const i = upperBound(this.boundaries, start)
    if (i % 2 === 0) return false
    const rangeEnd = this.boundaries[i]
    return rangeEnd === undefined || rangeEnd >= end
  }

  /** Whether any chunk of `start..end` is in the set. */
  intersects (start: number, end: number): boolean {
    if (end <= start) return false
    const i = upperBound(this.boundaries, start)
    if (i % 2 === 1) return true
    const nextStart = this.boundaries[i]
    return nextStart !== undefined && nextStart < end
  }

  union (other: ChunkRanges): ChunkRanges {
    return new ChunkRanges(combine(this.boundaries, other.boundaries, OR))
  }

  intersection (other: ChunkRanges): ChunkRanges {
    return new ChunkRanges(combine(this.boundaries, other.boundaries, AND))
  }

  difference (other: ChunkRanges): ChunkRanges {
    return new ChunkRanges(combine(this.boundaries, other.boundaries, AND_NOT))
  }

  /** Chunks in exactly one of the two sets (how Observe diffs are expressed). */
  xor (other: ChunkRanges): ChunkRanges {
    return new ChunkRanges(combine(this.boundaries, other.boundaries, XOR))
  }

  equals (other: ChunkRanges): boolean {
    const a = this.boundaries
    const b = other.boundaries
    return a.length === b.length && a.every((value, i) => value === b[i])
  }

  /**
   * The set as it applies to a blob of `size` bytes (PROTOCOL.md section 3): cut at the chunk
   * count, and anything at or past the end stands for the last chunk. A result holding the last
   * chunk is open-ended, so equal requests compare equal. The empty blob has one (empty) chunk.
   */
  canonicalize (size: number): ChunkRanges {
    const chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE))
    const last = chunks - 1
    let result = this.intersection(ChunkRanges.to(chunks))
    if (this.intersects(chunks, Infinity)) result = result.union(ChunkRanges.chunk(last))
    if (result.contains(last)) result = result.union(ChunkRanges.from(last))
    return result
  }

  /** How many ranges the set holds (an open range counts as one). */
  get rangeCount (): number {
    return Math.ceil(this.boundaries.length / 2)
  }

  /** The first `count` ranges of the set: how a requester keeps a request within a peer's limits. */
  head (count: number): ChunkRanges {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`)
    return this.rangeCount <= count ? this : new ChunkRanges(this.boundaries.slice(0, 2 * count))
  }

  /** The ranges as `[start, end]` pairs; an open range ends at Infinity. */
  * ranges (): Generator<[number, number]> {
    const b = this.boundaries
    for (let i = 0; i < b.length; i += 2) yield [b[i] as number, b[i + 1] ?? Infinity]
  }

  /** Total chunks in the set, clipped at `chunks` (for counting what a blob holds). */
  countUpTo (chunks: number): number {
    let total = 0
    for (const [start, end] of this.ranges()) total += Math.max(0, Math.min(end, chunks) - Math.min(start, chunks))
    return total
  }

  toString (): string {
    if (this.isEmpty()) return '{}'
    const parts = [...this.ranges()].map(([s, e]) => e === Infinity ? `${s}..` : `${s}..${e}`)
    return `{${parts.join(', ')}}`
  }
}

const OR = (a: boolean, b: boolean): boolean => a || b
const AND = (a: boolean, b: boolean): boolean => a && b
const AND_NOT = (a: boolean, b: boolean): boolean => a && !b
const XOR = (a: boolean, b: boolean): boolean => a !== b

/** Sweep both boundary lists once, emitting a boundary wherever `op` changes its answer. */
function combine (a: readonly number[], b: readonly number[], op: (inA: boolean, inB: boolean) => boolean): number[] {
  const out: number[] = []
  let i = 0
  let j = 0
  let inA = false
  let inB = false
  let inside = false
  while (i < a.length || j < b.length) {
    const va = a[i] ?? Infinity
    const vb = b[j] ?? Infinity
    const value = Math.min(va, vb)
    if (va === value) { inA = !inA; i++ }
    if (vb === value) { inB = !inB; j++ }
    const now = op(inA, inB)
    if (now !== inside) {
      out.push(value)
      inside = now
    }
  }
  return out
}

/** Number of boundaries <= value. */
function upperBound (boundaries: readonly number[], value: number): number {
  let lo = 0
  let hi = boundaries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((boundaries[mid] as number) <= value) lo = mid + 1
    else hi = mid
  }
  return lo
}

function chunkArg (name: string, value: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
  if (!(Number.isSafeInteger(value) || value === MAX_CHUNK) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer up to 2^53, got ${value}`)
  }
  return value
}

