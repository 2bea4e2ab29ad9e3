import { PAIR_SIZE } from './constants.js'
import { toAccess, type RandomAccess } from './random-access.js'

/**
 * Where a walk over a blob's tree gets its parent pairs. A complete blob has a pre-order
 * outboard; a partial blob keeps pairs by node number, which does not depend on the size.
 */
export interface PairSource {
  /** The pair of parent `node` (block-level in-order number, see BaoTree) at pre-order `index`. */
  readPair: (node: number, index: number) => Promise<Uint8Array> | Uint8Array
  /**
   * A pair inside a partly present group, by chunk-level in-order number (chunk c = leaf 2c), or
   * undefined when it was never received. Only partial blobs have these.
   */
  readChunkPair?: (node: number) => Promise<Uint8Array | undefined> | Uint8Array | undefined
}

/** Pairs read from a pre-order outboard. */
export function preOrderPairs (outboard: Uint8Array | RandomAccess): PairSource {
  const access = toAccess(outboard)
  return { readPair: (_node, index) => access.readAt(index * PAIR_SIZE, PAIR_SIZE) }
}
