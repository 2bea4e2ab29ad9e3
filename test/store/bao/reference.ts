import { CHUNK_SIZE } from '../../../store/bao/constants.js'
import type { Blake3Core } from '../../../store/bao/interface.js'
import type { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { concat } from '../../helpers.js'

/**
 * A deliberately plain, recursive reading of PROTOCOL.md sections 2 and 4, written apart from the
 * iterative encoder so the two check each other.
 */
function leftChunks (chunks: number): number {
  let p = 1
  while (p * 2 < chunks) p *= 2
  return p
}

function chunksOf (data: Uint8Array): number {
  return Math.max(1, Math.ceil(data.length / CHUNK_SIZE))
}

/** Pre-order outboard by recursion: a node's pair, then its left side, then its right side. */
export function referenceOutboard (core: Blake3Core, data: Uint8Array, groupLog: number): Uint8Array {
  const pairs: Uint8Array[] = []
  const groupChunks = 2 ** groupLog
  function walk (start: number, bytes: Uint8Array, isRoot: boolean): Uint8Array {
    const chunks = chunksOf(bytes)
    if (chunks <= groupChunks) return core.subtreeCV(bytes, start, isRoot)
    const slot = pairs.length
    pairs.push(new Uint8Array(0))
    const left = leftChunks(chunks)
    const l = walk(start, bytes.subarray(0, left * CHUNK_SIZE), false)
    const r = walk(start + left, bytes.subarray(left * CHUNK_SIZE), false)
    pairs[slot] = concat([l, r])
    return core.parentCV(pairs[slot] as Uint8Array, isRoot)
  }
  walk(0, data, true)
  return concat(pairs)
}

/** The encoded stream by recursion over the canonicalised query. */
export function referenceEncode (core: Blake3Core, data: Uint8Array, ranges: ChunkRanges, groupLog: number): Uint8Array {
  const query = ranges.canonicalize(data.length)
  const groupChunks = 2 ** groupLog
  const out: Uint8Array[] = []
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, BigInt(data.length), true)
  out.push(header)
  function cv (start: number, bytes: Uint8Array): Uint8Array {
    return core.subtreeCV(bytes, start, false)
  }
  function walk (start: number, bytes: Uint8Array): void {
    const chunks = chunksOf(bytes)
    const end = start + chunks
    if (!query.intersects(start, end)) return
    if (chunks <= groupChunks && query.containsRange(start, end)) {
      out.push(bytes)
      return
    }
    const left = leftChunks(chunks)
    const split = left * CHUNK_SIZE
    out.push(concat([cv(start, bytes.subarray(0, split)), cv(start + left, bytes.subarray(split))]))
    walk(start, bytes.subarray(0, split))
    walk(start + left, bytes.subarray(split))
  }
  walk(0, data)
  return concat(out)
}
