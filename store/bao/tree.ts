import { CHUNK_LOG, CHUNK_SIZE, GROUP_LOG, MAX_SIZE, PAIR_SIZE } from './constants.js'
import { InvalidSize } from './errors.js'
import { popcount, trailingOnes } from './math.js'

/**
 * Geometry of the hash tree of one blob at block (chunk group) granularity.
 *
 * Nodes are numbered in order: block i is leaf node 2i, and the parent covering blocks
 * [s, s + 2^L) at level L is node 2s + 2^L - 1. A node number does not depend on the blob size,
 * which is what lets a partial blob keep its hash pairs before the size is verified. A parent is
 * persisted (has an outboard entry) when its right half starts inside the blob; those are exactly
 * the odd node numbers below 2 * blocks - 1. A parent whose right half is missing is skipped: its
 * left child hangs directly under the parent above.
 *
 * `groupLog` 0 gives plain bao (one chunk per block); verity's default is 4 (16 KiB groups).
 */
export class BaoTree {
  readonly size: number
  readonly groupLog: number
  /** Chunks per block. */
  readonly blockChunks: number
  /** Bytes per block. */
  readonly blockSize: number
  /** Number of blocks, at least 1 (the empty blob is one empty block). */
  readonly blocks: number
  /** Number of chunks, at least 1 (the empty blob is one empty chunk). */
  readonly chunks: number

  constructor (size: number, groupLog: number = GROUP_LOG) {
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE) throw new InvalidSize(size)
    if (!Number.isInteger(groupLog) || groupLog < 0 || groupLog > 20) {
      throw new RangeError(`groupLog must be an integer from 0 to 20, got ${groupLog}`)
    }
    this.size = size
    this.groupLog = groupLog
    this.blockChunks = 2 ** groupLog
    this.blockSize = CHUNK_SIZE * this.blockChunks
    this.blocks = Math.max(1, Math.ceil(size / this.blockSize))
    this.chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE))
  }

  /** The root node: leaf 0 for a one-block blob, else the parent over the next power of two. */
  get root (): number {
    let span = 1
    while (span < this.blocks) span *= 2
    return span - 1
  }

  /** Bytes of the pre-order outboard: one pair per persisted parent. */
  get outboardSize (): number {
    return (this.blocks - 1) * PAIR_SIZE
  }

  /** Level of a node: 0 for leaves, the number of trailing one bits otherwise. */
  static level (node: number): number {
    return trailingOnes(node)
  }

  /** Whether the node is a parent with an outboard entry in this tree. */
  isPersisted (node: number): boolean {
    return node % 2 === 1 && node < 2 * this.blocks - 1
  }

  /** First block and end block (exclusive, clipped at the blob's end) under a node. */
  blockRange (node: number): [number, number] {
    const span = 2 ** BaoTree.level(node)
    const start = (node + 1 - span) / 2
    return [start, Math.min(start + span, this.blocks)]
  }

  /** First chunk and end chunk (exclusive, clipped at the blob's end) under a node. */
  chunkRange (node: number): [number, number] {
    const [start, end] = this.blockRange(node)
    return [start * this.blockChunks, Math.min(end * this.blockChunks, this.chunks)]
  }

  /** Byte range under a node, clipped at the blob's end. */
  byteRange (node: number): [number, number] {
    const [start, end] = this.chunkRange(node)
    return [start * CHUNK_SIZE, Math.min(end * CHUNK_SIZE, this.size)]
  }

  leftChild (node: number): number {
    const level = BaoTree.level(node)
    if (level === 0) throw new RangeError(`node ${node} is a leaf`)
    return node - 2 ** (level - 1)
  }

  /** The right child as the tree has it: skipped parents are descended to their left child. */
  rightChild (node: number): number {
    const level = BaoTree.level(node)
    if (level === 0) throw new RangeError(`node ${node} is a leaf`)
    let child = node + 2 ** (level - 1)
    while (child % 2 === 1 && !this.isPersisted(child)) child = this.leftChild(child)
    return child
  }

  /**
   * Position of a persisted parent in the pre-order outboard, in entries (not bytes): the parents
   * of the complete subtrees left of the node (start - popcount(start) of them, one subtree per
   * set bit of its first block), plus its persisted ancestors, which precede it in pre-order.
   */
  preOrderIndex (node: number): number {
    if (!this.isPersisted(node)) throw new RangeError(`node ${node} has no outboard entry`)
    const level = BaoTree.level(node)
    const start = (node + 1 - 2 ** level) / 2
    let index = start - popcount(start)
    const rootLevel = BaoTree.level(this.root)
    for (let k = level + 1, span = 2 ** k; k <= rootLevel; k++, span *= 2) {
      const ancestorStart = start - (start % span)
      if (ancestorStart + span / 2 < this.blocks) index++
    }
    return index
  }

  /** Persisted parents in pre-order: the order of the outboard. */
  * preOrderParents (): Generator<number> {
    if (this.blocks === 1) return
    const stack = [this.root]
    while (stack.length > 0) {
      const node = stack.pop() as number
      yield node
      const right = this.rightChild(node)
      const left = this.leftChild(node)
      if (right % 2 === 1) stack.push(right)
      if (left % 2 === 1) stack.push(left)
    }
  }

  /** Persisted parents in post-order: the order in which a streaming hasher completes them. */
  * postOrderParents (): Generator<number> {
    if (this.blocks === 1) return
    const self = this
    function * walk (node: number): Generator<number> {
      const left = self.leftChild(node)
      const right = self.rightChild(node)
      if (left % 2 === 1) yield * walk(left)
      if (right % 2 === 1) yield * walk(right)
      yield node
    }
    yield * walk(this.root)
  }
}

/** Number of chunks of a blob of `size` bytes, as BLAKE3 counts them (0 for the empty blob). */
export function chunksOf (size: number): number {
  return Math.ceil(size / CHUNK_SIZE)
}

/** The chunk holding byte `offset`. */
export function chunkOf (offset: number): number {
  return Math.floor(offset / 2 ** CHUNK_LOG)
}

/**
 * Chunk-level in-order number of the node over `count` chunks from `start` (its span is the next
 * power of two): a leaf chunk c is 2c, a parent over chunks [s, s + 2^L) is 2s + 2^L - 1. This
 * numbering names the pairs inside a group, whatever the blob's size.
 */
export function chunkNode (start: number, count: number): number {
  let span = 1
  while (span < count) span *= 2
  return 2 * start + span - 1
}

/** The chunks `[start, end)` under chunk-level in-order node `node` (the inverse of chunkNode). */
export function chunkSpan (node: number): [number, number] {
  let span = 1
  while (Math.floor(node / span) % 2 === 1) span *= 2
  const start = (node + 1 - span) / 2
  return [start, start + span]
}
