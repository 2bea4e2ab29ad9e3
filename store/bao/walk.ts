import { largestPowerOfTwoBelow } from './math.js'
import type { ChunkRanges } from '../ranges/chunk-ranges.js'

/**
 * One node of a pre-order walk over the BLAKE3 tree at chunk granularity, shared by the encoder
 * and decoder. Nodes with more chunks than a group are parents stored in the outboard; a node of
 * at most a group's chunks is a group or lies inside one, where pairs are computed from data.
 */
export interface WalkNode {
  startChunk: number
  chunks: number
  isRoot: boolean
  /** The chaining value this node must hash to. */
  expected: Uint8Array
  /** Pre-order outboard index, meaningful for nodes above group level. */
  index: number
}

/**
 * Push the children of `node` that `query` meets onto a pre-order walk stack (right first, so the
 * left child is visited next). `pair` holds the children's values; `groupChunks` is chunks per
 * group (outboard indices advance by the left side's group count).
 */
export function pushChildren (stack: WalkNode[], node: WalkNode, pair: Uint8Array, query: ChunkRanges, groupChunks: number): void {
  const left = largestPowerOfTwoBelow(node.chunks)
  const rightStart = node.startChunk + left
  if (query.intersects(rightStart, node.startChunk + node.chunks)) {
    stack.push({
      startChunk: rightStart,
      chunks: node.chunks - left,
      isRoot: false,
      expected: pair.subarray(32, 64),
      index: node.index + left / groupChunks
    })
  }
  if (query.intersects(node.startChunk, rightStart)) {
    stack.push({ startChunk: node.startChunk, chunks: left, isRoot: false, expected: pair.subarray(0, 32), index: node.index + 1 })
  }
}

/** In-order node number of a parent above group level (see BaoTree). */
export function parentNode (node: WalkNode, groupLog: number): number {
  const startBlock = node.startChunk / 2 ** groupLog
  const leftBlocks = largestPowerOfTwoBelow(node.chunks) / 2 ** groupLog
  return 2 * startBlock + 2 * leftBlocks - 1
}
