import { CHUNK_SIZE } from '../bao/constants.js'
import type { Bitfield } from '../interface.js'
import { ChunkRanges } from './chunk-ranges.js'

/** What a blob's bitfield holds of `ranges`. */
export interface Coverage {
  /** The blob's size, once any of it (or its size proof) is here. */
  size: number | undefined
  /** `ranges`, cut at the blob's last chunk once the size is known. */
  asked: ChunkRanges
  /** Chunks of `asked` not present. */
  missing: ChunkRanges
  /** Verified bytes of `asked` present. */
  bytes: number
}

export function coverage (bitfield: Bitfield, ranges: ChunkRanges): Coverage {
  if (bitfield.size === 0 && bitfield.ranges.isEmpty()) return { size: undefined, asked: ranges, missing: ranges, bytes: 0 }
  const chunks = Math.max(1, Math.ceil(bitfield.size / CHUNK_SIZE))
  const asked = ranges.canonicalize(bitfield.size).intersection(ChunkRanges.to(chunks))
  const have = bitfield.ranges.canonicalize(bitfield.size).intersection(asked)
  return { size: bitfield.size, asked, missing: asked.difference(have), bytes: bytesOf(have, bitfield.size) }
}

/** Bytes of a blob of `size` that `ranges` cover. */
export function bytesOf (ranges: ChunkRanges, size: number): number {
  let total = 0
  for (const [start, end] of ranges.ranges()) total += Math.max(0, Math.min(end * CHUNK_SIZE, size) - start * CHUNK_SIZE)
  return total
}
