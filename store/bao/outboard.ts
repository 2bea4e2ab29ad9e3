import { CHUNK_SIZE, GROUP_LOG, HASH_SIZE, MAX_SIZE, PAIR_SIZE } from './constants.js'
import { defaultCore } from './core.js'
import { InvalidSize } from './errors.js'
import type { Blake3Core } from './interface.js'
import { BaoTree } from './tree.js'

export interface OutboardOptions {
  /** The blob's size when known up front: pairs then go straight to their pre-order place. */
  size?: number
  /** Chunks per block as a power of two. @default 4 */
  groupLog?: number
  /** The BLAKE3 core. @default the fastest available */
  core?: Blake3Core
}

export interface HashedBlob {
  /** BLAKE3 hash of the whole blob. */
  hash: Uint8Array
  size: number
  /** Pre-order outboard, no size field: (blocks - 1) * 64 bytes. */
  outboard: Uint8Array
}

/** Most bytes hashed per core call on the fast path (whole blocks straight from the caller's view). */
const BATCH_BYTES = 1 << 20

const NO_PAIRS = new Uint8Array(0)

/** A completed subtree on the merge stack: its value, first block and block count. */
interface StackEntry { cv: Uint8Array, start: number, blocks: number }

/**
 * Hashes a blob in one streaming pass and builds its pre-order outboard. Memory: the merge stack
 * (tree depth), one partial block, and the outboard itself.
 *
 * A block is finished only once at least one byte follows it, so a finished block is never the
 * blob's last and its merges are never the root (as in BLAKE3's reference hasher); `finish()`
 * hashes the last block and merges the right edge, root-finalising the top. Each merge completes
 * one parent whose node number is known then; with a known size so is its pre-order place.
 * Without a size, pairs are kept in in-order layout (node number / 2, which does not depend on the
 * size) and reordered once at `finish()`.
 */
export class OutboardBuilder {
  private readonly core: Blake3Core
  private readonly groupLog: number
  private readonly blockSize: number
  private readonly expectedSize: number | undefined
  private readonly tree: BaoTree | undefined
  private readonly stack: StackEntry[] = []
  private readonly pending: Uint8Array
  private pendingLength = 0
  private blocksDone = 0
  private bytes = 0
  private pairs: Uint8Array
  private finished = false
  /** Most blocks per core call: a power of two. */
  private readonly maxBatch: number
  /** The last step queued by updateAsync (afterQueued); settled when nothing is queued. */
  private tail: Promise<void> = Promise.resolve()
  /** Steps of updateAsync queued and not yet settled. */
  private queued = 0
  /** Of those, calls of update() (which move the counters when they run, not when queued). */
  private updatesQueued = 0
  /** What failed a step of updateAsync: the builder's result is lost. */
  private failed: Error | undefined

  constructor (options: OutboardOptions = {}) {
    this.core = options.core ?? defaultCore()
    this.groupLog = options.groupLog ?? GROUP_LOG
    this.expectedSize = options.size
    if (options.size !== undefined) {
      this.tree = new BaoTree(options.size, this.groupLog)
      this.pairs = new Uint8Array(this.tree.outboardSize)
    } else {
      this.pairs = new Uint8Array(PAIR_SIZE * 64)
    }
    this.blockSize = CHUNK_SIZE << this.groupLog
    this.pending = new Uint8Array(this.blockSize)
    this.maxBatch = Math.max(1, BATCH_BYTES / this.blockSize)
  }

  /** Bytes hashed so far. */
  get bytesHashed (): number {
    return this.bytes
  }

  update (data: Uint8Array): void {
    if (this.finished) throw new Error('OutboardBuilder.update after finish')
    const limit = this.expectedSize ?? MAX_SIZE
    if (this.bytes + data.length > limit) {
      throw new InvalidSize(this.bytes + data.length, `data is longer than the declared size ${limit}`)
    }
    this.bytes += data.length
    let offset = 0
    while (offset < data.length) {
      if (this.pendingLength === this.blockSize) {
        // More bytes follow a whole pending block: it is not the last one.
        this.hashBlocks(this.pending, 1)
        this.pendingLength = 0
      }
      // Whole blocks straight from the caller's view, at least one byte of the blob left after
      // them (which a declared size can promise beyond this view).
      const after = this.expectedSize !== undefined && this.bytes < this.expectedSize ? 0 : 1
      const whole = this.pendingLength === 0 ? Math.floor((data.length - offset - after) / this.blockSize) : 0
      if (whole > 0) {
        const blocks = this.batchBlocks(whole)
        this.hashBlocks(data.subarray(offset, offset + blocks * this.blockSize), blocks)
        offset += blocks * this.blockSize
        continue
      }
      const take = Math.min(this.blockSize - this.pendingLength, data.length - offset)
      this.pending.set(data.subarray(offset, offset + take), this.pendingLength)
      this.pendingLength += take
      offset += take
    }
  }

  /**
   * update(data), but where the core hashes on other threads (Blake3Core.groupTreeAsync) and the
   * size was declared, the whole blocks of `data` are hashed there: calls made before earlier
   * ones settle hash at once, on as many cores, and are merged into the tree in call order. Bytes
   * the fast path does not take (a partial block, the blob's last block) go through update() once
   * the calls before have merged. Resolves once `data` is no longer read; until then it must stay
   * unchanged. update() and finish() wait for nothing: call them only once every updateAsync has
   * settled (finish() throws otherwise).
   */
  async updateAsync (data: Uint8Array): Promise<void> {
    const job = this.core.groupTreeAsync?.bind(this.core)
    const tree = this.tree
    // The counters below are up to date only while no update() is queued (those run later).
    if (job === undefined || tree === undefined || this.updatesQueued > 0 || this.pendingLength !== 0 || this.finished ||
      this.failed !== undefined || this.bytes + data.length > tree.size) return await this.queueUpdate(data)
    // Whole blocks with at least one byte of the blob after them (never the last block).
    const after = this.bytes + data.length < tree.size ? 0 : 1
    const whole = Math.max(0, Math.floor((data.length - after) / this.blockSize))
    const batches: Array<Promise<StackEntry>> = []
    let offset = 0
    for (let left = whole; left > 0;) {
      const blocks = this.batchBlocks(left)
      const start = this.blocksDone
      const bytes = data.subarray(offset, offset + blocks * this.blockSize)
      const run = blocks === 1 ? NO_PAIRS : this.pairRun(tree.preOrderIndex(2 * start + blocks - 1), blocks - 1)
      batches.push(job(bytes, start * 2 ** this.groupLog, this.groupLog, run, false).then(cv => ({ cv, start, blocks })))
      this.blocksDone += blocks
      offset += blocks * this.blockSize
      left -= blocks
    }
    this.bytes += offset
    const rest = data.subarray(offset)
    const steps = [this.afterQueued(async () => {
      for (const batch of batches) this.pushSubtree(await batch)
    })]
    // The rest (less than a block, or the blob's last block) after the merges, as update() takes it.
    if (rest.length > 0) steps.push(this.queueUpdate(rest))
    // Settled-handled at once: a step can fail while this call's batches still hash (an earlier
    // batch or call failed), and an unhandled rejection would end the process.
    const settled = Promise.allSettled(steps)
    // Every batch read to its end, even if an earlier one failed: then `data` is free.
    await Promise.allSettled(batches)
    for (const step of await settled) {
      if (step.status === 'rejected') throw step.reason
    }
  }

  /** update(data) once every step queued before has run. */
  private async queueUpdate (data: Uint8Array): Promise<void> {
    // Left counted if it never runs (an earlier step failed): the builder has failed for good then.
    this.updatesQueued++
    await this.afterQueued(() => {
      this.updatesQueued--
      this.update(data)
    })
  }

  finish (): HashedBlob {
    if (this.finished) throw new Error('OutboardBuilder.finish called twice')
    if (this.queued > 0) throw new Error('OutboardBuilder.finish before every updateAsync settled')
    if (this.failed !== undefined) throw this.failed
    this.finished = true
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      throw new InvalidSize(this.bytes, `data is ${this.bytes} bytes, declared size is ${this.expectedSize}`)
    }
    const tree = this.tree ?? new BaoTree(this.bytes, this.groupLog)
    const lastBlock = this.pending.subarray(0, this.pendingLength)
    if (this.blocksDone === 0) return this.result(tree, this.core.subtreeCV(lastBlock, 0, true))
    let right = this.core.subtreeCV(lastBlock, this.blocksDone * 2 ** this.groupLog, false)
    while (this.stack.length > 0) {
      const left = this.stack.pop() as StackEntry
      right = this.recordParent(2 * left.start + 2 * left.blocks - 1, left.cv, right, this.stack.length === 0)
    }
    return this.result(tree, right)
  }

  /**
   * Runs `step` once every step queued before it has run (in call order), counted in `queued`.
   * A step that throws fails the builder: later steps and finish() throw the same error.
   */
  private async afterQueued (step: () => void | Promise<void>): Promise<void> {
    this.queued++
    const run = this.tail.then(async () => {
      if (this.failed !== undefined) throw this.failed
      try {
        await step()
      } catch (err) {
        this.failed ??= err as Error
        throw err
      }
    })
    this.tail = run.catch(() => {})
    try {
      await run
    } finally {
      this.queued--
    }
  }

  /**
   * The largest batch that is a complete subtree: a power of two of blocks, at most `available`
   * and BATCH_BYTES, starting at a multiple of its own size.
   */
  private batchBlocks (available: number): number {
    let blocks = 1
    const limit = Math.min(available, this.maxBatch)
    while (blocks * 2 <= limit && this.blocksDone % (blocks * 2) === 0) blocks *= 2
    return blocks
  }

  /**
   * Hash `blocks` whole blocks (a complete subtree, never the blob's end) in one core call. Its
   * parents form one contiguous run of the outboard, starting at the subtree root's slot; the
   * core writes them there in that order.
   */
  private hashBlocks (data: Uint8Array, blocks: number): void {
    const start = this.blocksDone
    if (blocks === 1) {
      this.blocksDone += 1
      this.pushSubtree({ cv: this.core.groupTree(data, start * 2 ** this.groupLog, this.groupLog, NO_PAIRS, false), start, blocks })
      return
    }
    // Pre-order: the run starts at the subtree root's slot; in-order: at its first parent's.
    const run = this.tree !== undefined
      ? this.pairRun(this.tree.preOrderIndex(2 * start + blocks - 1), blocks - 1)
      : this.pairRun(start, blocks - 1)
    const cv = this.core.groupTree(data, start * 2 ** this.groupLog, this.groupLog, run, this.tree === undefined)
    this.blocksDone += blocks
    this.pushSubtree({ cv, start, blocks })
  }

  /** Push a finished subtree, merging while the one below it has the same size (it is complete). */
  private pushSubtree (entry: StackEntry): void {
    for (let top = this.stack[this.stack.length - 1]; top !== undefined && top.blocks === entry.blocks; top = this.stack[this.stack.length - 1]) {
      this.stack.pop()
      const node = 2 * top.start + 2 * top.blocks - 1
      entry = { cv: this.recordParent(node, top.cv, entry.cv, false), start: top.start, blocks: top.blocks * 2 }
    }
    this.stack.push(entry)
  }

  /** `count` outboard entries from entry `index` (pre-order with a known size, else in-order). */
  private pairRun (index: number, count: number): Uint8Array {
    const end = (index + count) * PAIR_SIZE
    if (end > this.pairs.length) {
      if (this.tree !== undefined) throw new RangeError(`outboard entry ${index + count - 1} is past the end`)
      const grown = new Uint8Array(Math.max(this.pairs.length * 2, end))
      grown.set(this.pairs)
      this.pairs = grown
    }
    return this.pairs.subarray(index * PAIR_SIZE, end)
  }

  private recordParent (node: number, left: Uint8Array, right: Uint8Array, isRoot: boolean): Uint8Array {
    const pair = this.pairRun(this.tree !== undefined ? this.tree.preOrderIndex(node) : (node - 1) / 2, 1)
    pair.set(left, 0)
    pair.set(right, HASH_SIZE)
    return this.core.parentCV(pair, isRoot)
  }

  private result (tree: BaoTree, hash: Uint8Array): HashedBlob {
    let outboard = this.pairs
    if (this.tree === undefined) {
      // In-order layout (index = node / 2) to pre-order, once the size is known.
      outboard = new Uint8Array(tree.outboardSize)
      let i = 0
      for (const node of tree.preOrderParents()) {
        const from = (node - 1) / 2 * PAIR_SIZE
        outboard.set(this.pairs.subarray(from, from + PAIR_SIZE), i * PAIR_SIZE)
        i++
      }
    }
    return { hash, size: this.bytes, outboard: outboard.subarray(0, tree.outboardSize) }
  }
}

/** Hash `data` and build its pre-order outboard. */
export function computeOutboard (data: Uint8Array, options: Omit<OutboardOptions, 'size'> = {}): HashedBlob {
  const builder = new OutboardBuilder({ ...options, size: data.length })
  builder.update(data)
  return builder.finish()
}
