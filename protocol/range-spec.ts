import { ChunkRanges, MAX_CHUNK } from '../store/ranges/chunk-ranges.js'
import { MalformedMessage } from './errors.js'
import type { RangeBudget } from './limits.js'
import { PostcardReader, PostcardWriter } from '../store/codec/postcard.js'

const U64_MAX = (1n << 64n) - 1n
const BIG_MAX_CHUNK = BigInt(MAX_CHUNK)

/**
 * RangeSpec (PROTOCOL.md section 5): `varint count`, then the span widths between boundaries,
 * starting with the unselected span before the first range. MAX_CHUNK stands for u64::MAX.
 */
export function writeRangeSpec (writer: PostcardWriter, ranges: ChunkRanges): void {
  const boundaries = ranges.boundaries
  writer.varint(boundaries.length)
  let previous = 0n
  for (const boundary of boundaries) {
    const absolute = boundary === MAX_CHUNK ? U64_MAX : BigInt(boundary)
    writer.varint(absolute - previous)
    previous = absolute
  }
}

/**
 * Reads a RangeSpec; absolute chunk numbers above 2^53 saturate to MAX_CHUNK. With a budget, a
 * spec over its limits throws RequestTooLarge before its values are read.
 */
export function readRangeSpec (reader: PostcardReader, budget?: RangeBudget, observe = false): ChunkRanges {
  // Each width takes at least one byte, so a count above what is left cannot be honest.
  const count = reader.varint(reader.remaining)
  if (observe) budget?.observe(count)
  budget?.spec(count)
  const boundaries: number[] = []
  let absolute = 0n
  for (let i = 0; i < count; i++) {
    absolute += reader.bigVarint()
    if (absolute > U64_MAX) throw new MalformedMessage('RangeSpec boundary overflows u64')
    boundaries.push(absolute >= BIG_MAX_CHUNK ? MAX_CHUNK : Number(absolute))
  }
  return ChunkRanges.fromBoundaries(boundaries)
}

export function encodeRangeSpec (ranges: ChunkRanges): Uint8Array {
  const writer = new PostcardWriter()
  writeRangeSpec(writer, ranges)
  return writer.finish()
}

export function decodeRangeSpec (bytes: Uint8Array): ChunkRanges {
  const reader = new PostcardReader(bytes)
  const ranges = readRangeSpec(reader)
  if (reader.remaining !== 0) throw new MalformedMessage(`${reader.remaining} bytes after the RangeSpec`)
  return ranges
}

/**
 * RangeSpecSeq: which chunks of each blob of a request. Offset 0 is the root blob, offset k >= 1
 * child k - 1 of the HashSeq in the root. Entries are (offset, ranges); each applies from its
 * offset until the next entry, and the last one repeats forever, so a finite request ends with an
 * empty entry.
 */
export class RangeSpecSeq {
  private constructor (readonly entries: ReadonlyArray<{ offset: number, ranges: ChunkRanges }>) {}

  /** Selects nothing. */
  static empty (): RangeSpecSeq {
    return new RangeSpecSeq([])
  }

  /** Every blob at every offset, whole (a HashSeq and all its children). */
  static all (): RangeSpecSeq {
    return new RangeSpecSeq([{ offset: 0, ranges: ChunkRanges.all() }])
  }

  /** The root blob only, with these ranges. */
  static root (ranges: ChunkRanges = ChunkRanges.all()): RangeSpecSeq {
    return RangeSpecSeq.fromRanges([ranges])
  }

  /**
   * A finite sequence: entry i applies to offset i, nothing after the list. Built the way iroh
   * builds it, so requests are byte-identical: leading empty entries and repeats of the previous
   * entry are dropped, and an empty terminator follows a non-empty last entry.
   */
  static fromRanges (ranges: Iterable<ChunkRanges>): RangeSpecSeq {
    const { entries, next } = collapse(ranges)
    const last = entries[entries.length - 1]
    if (last !== undefined && !last.ranges.isEmpty()) entries.push({ offset: next, ranges: ChunkRanges.empty() })
    return new RangeSpecSeq(entries)
  }

  /** Like fromRanges, but the last entry repeats for every later offset. */
  static fromRangesInfinite (ranges: Iterable<ChunkRanges>): RangeSpecSeq {
    return new RangeSpecSeq(collapse(ranges).entries)
  }

  /** Entries as given (offsets must increase); used by the decoder, accepts non-canonical input. */
  static fromEntries (entries: ReadonlyArray<{ offset: number, ranges: ChunkRanges }>): RangeSpecSeq {
    for (let i = 1; i < entries.length; i++) {
      if ((entries[i] as { offset: number }).offset <= (entries[i - 1] as { offset: number }).offset) {
        throw new RangeError('RangeSpecSeq offsets must increase')
      }
    }
    return new RangeSpecSeq([...entries])
  }

  /** The ranges selected at `offset` (a binary search: callers walk long sequences offset by offset). */
  at (offset: number): ChunkRanges {
    return this.entries[entryAt(this.entries, offset)]?.ranges ?? ChunkRanges.empty()
  }

  /** Whether some offset past every entry is still selected (the last entry is non-empty). */
  isInfinite (): boolean {
    const last = this.entries[this.entries.length - 1]
    return last !== undefined && !last.ranges.isEmpty()
  }

  /** Whether nothing at all is selected. */
  isEmpty (): boolean {
    return this.entries.every(entry => entry.ranges.isEmpty())
  }

  /** The offset after the last entry that can select anything (Infinity when infinite). */
  end (): number {
    if (this.isInfinite()) return Infinity
    let end = 0
    for (const entry of this.entries) if (!entry.ranges.isEmpty()) end = entry.offset + 1
    return end
  }

  equals (other: RangeSpecSeq): boolean {
    return this.entries.length === other.entries.length && this.entries.every((entry, i) => {
      const theirs = other.entries[i] as { offset: number, ranges: ChunkRanges }
      return entry.offset === theirs.offset && entry.ranges.equals(theirs.ranges)
    })
  }
}

function collapse (ranges: Iterable<ChunkRanges>): { entries: Array<{ offset: number, ranges: ChunkRanges }>, next: number } {
  const entries: Array<{ offset: number, ranges: ChunkRanges }> = []
  let offset = 0
  for (const r of ranges) {
    const previous = entries[entries.length - 1]?.ranges ?? ChunkRanges.empty()
    if (!r.equals(previous)) entries.push({ offset, ranges: r })
    offset++
  }
  return { entries, next: offset }
}

export function writeRangeSpecSeq (writer: PostcardWriter, seq: RangeSpecSeq): void {
  writer.varint(seq.entries.length)
  let previous = 0
  for (const entry of seq.entries) {
    writer.varint(entry.offset - previous)
    writeRangeSpec(writer, entry.ranges)
    previous = entry.offset
  }
}

/** Reads a RangeSpecSeq; accepts any deltas (non-canonical sequences included). */
export function readRangeSpecSeq (reader: PostcardReader, budget?: RangeBudget): RangeSpecSeq {
  const count = reader.varint(reader.remaining)
  budget?.entries(count)
  const entries: Array<{ offset: number, ranges: ChunkRanges }> = []
  let offset = 0
  for (let i = 0; i < count; i++) {
    const delta = reader.varint()
    if (i > 0 && delta === 0) {
      // A zero delta after the first entry replaces the previous entry at the same offset.
      entries.pop()
    }
    offset += delta
    if (!Number.isSafeInteger(offset)) throw new MalformedMessage('RangeSpecSeq offset overflows')
    entries.push({ offset, ranges: readRangeSpec(reader, budget) })
  }
  return RangeSpecSeq.fromEntries(entries)
}

export function encodeRangeSpecSeq (seq: RangeSpecSeq): Uint8Array {
  const writer = new PostcardWriter()
  writeRangeSpecSeq(writer, seq)
  return writer.finish()
}

export function decodeRangeSpecSeq (bytes: Uint8Array): RangeSpecSeq {
  const reader = new PostcardReader(bytes)
  const seq = readRangeSpecSeq(reader)
  if (reader.remaining !== 0) throw new MalformedMessage(`${reader.remaining} bytes after the RangeSpecSeq`)
  return seq
}

/** The first offset at or after `from` whose ranges are not empty; undefined if there is none. */
export function nextSelected (seq: RangeSpecSeq, from: number): number | undefined {
  const entries = seq.entries
  // Start at the entry covering `from` (or the first one): a walk over the offsets of a request
  // then costs the entries once in all, not once per offset.
  for (let i = Math.max(0, entryAt(entries, from)); i < entries.length; i++) {
    const entry = entries[i] as { offset: number, ranges: ChunkRanges }
    const start = Math.max(entry.offset, from)
    const end = entries[i + 1]?.offset ?? Infinity
    if (start < end && !entry.ranges.isEmpty()) return start
  }
  return undefined
}

/** Index of the last entry whose offset is at most `offset`; -1 if there is none. */
function entryAt (entries: ReadonlyArray<{ offset: number }>, offset: number): number {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((entries[mid] as { offset: number }).offset <= offset) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}
