import { CHUNK_SIZE, GROUP_LOG, PAIR_SIZE } from './constants.js'
import { defaultCore } from './core.js'
import { LeafHashMismatch, MissingRange, ParentHashMismatch } from './errors.js'
import type { Blake3Core } from './interface.js'
import { equalBytes, largestPowerOfTwoBelow } from './math.js'
import { preOrderPairs, type PairSource } from './pair-source.js'
import { toAccess, type RandomAccess } from './random-access.js'
import { BaoTree, chunkNode } from './tree.js'
import { hashArg } from './validate.js'
import { parentNode, pushChildren, type WalkNode } from './walk.js'
import type { ChunkRanges } from '../ranges/chunk-ranges.js'
import { Yielder } from '../yielder.js'

export interface LocalBlob {
  /** The blob's BLAKE3 hash: every pair and every byte is checked against it. */
  hash: Uint8Array
  size: number
  data: Uint8Array | RandomAccess
  /** A pre-order outboard, or a pair source (partial blobs). */
  pairs: Uint8Array | RandomAccess | PairSource
  /** Chunks present; undefined for a complete blob. */
  present?: ChunkRanges
  /** @default 4 */
  groupLog?: number
  core?: Blake3Core
}

/** What a validated walk yields, in the pre-order of the encoding. */
export type WalkItem =
  | { type: 'pair', pair: Uint8Array }
  | { type: 'data', offset: number, data: Uint8Array }

/**
 * Walk the chunks `ranges` (canonicalised at the blob's end) of a local blob in encoding order,
 * checking every pair and every byte against the hash before yielding it. Local corruption throws
 * ParentHashMismatch / LeafHashMismatch with `local: true`; a requested chunk that is not present
 * throws MissingRange. Either way everything yielded before is valid, and nothing after is.
 *
 * A present group is read whole and its hash checked once; pairs inside it are computed from its
 * data. A partly present group is descended with the pairs stored for it (`readChunkPair`) down
 * to nodes whose chunks are all present, which are then read and checked whole the same way.
 */
export async function * walkValidated (blob: LocalBlob, ranges: ChunkRanges, signal?: AbortSignal): AsyncGenerator<WalkItem> {
  for await (const batch of walkValidatedBatches(blob, ranges, signal)) yield * batch
}

/** Data bytes a batch of walkValidatedBatches gathers before it is yielded. */
export const WALK_BATCH_BYTES = 256 << 10
/**
 * Larger buffers (a file's read-ahead windows) the items of one batch may be views of: two, a data
 * window and an outboard window, as a whole blob's batch is. A consumer that stalls holds its
 * batch: one chunk from every window of a file would otherwise keep all of them. Measured, a
 * provider whose requesters of one chunk in every 256 KiB of a 64 MiB blob stop reading: 41.5 MiB
 * held per request without this bound, 3.0-3.6 with 4, 2.0 with 2 (0.81 before batches), 1.0 once
 * the provider read into its two reused windows (transient); a whole blob's request 0.72-0.75.
 */
export const WALK_BATCH_BUFFERS = 2

export interface WalkBatchOptions {
  /** @default WALK_BATCH_BYTES */
  batchBytes?: number
  /**
   * Read the data into two windows of the walk's own, filled again as it goes, where the data has
   * `readInto` (a file): a batch's items are then valid only until the next batch is asked for.
   * For a consumer that copies each batch at once (the provider), so that serving allocates no
   * buffer per 256 KiB read: that churn of ArrayBuffers kept a long-running provider's V8 in
   * back-to-back full collections (5-19 per 256 MiB served, 0.3-0.6 s of CPU).
   */
  transient?: boolean
}

/** Bytes a transient walk reads at a time into each of its two windows. */
const WINDOW = 256 << 10

/**
 * walkValidated's items in batches of about `batchBytes` bytes, in the same order: a consumer that
 * sends them on (the provider) pays each step of its pipeline once per batch, not once per 16 KiB
 * group and once per pair. A batch is also cut before its items would be views of more than
 * WALK_BATCH_BUFFERS larger buffers. On a failure the items checked before it are yielded first
 * (unless the signal aborted: nobody wants them then), then the error is thrown, so a batch holds
 * only valid items. Items are the readers' buffers, which the caller may keep (RandomAccess): a
 * batch holds no view of a buffer that is filled again, unless `transient` says otherwise.
 */
export async function * walkValidatedBatches (blob: LocalBlob, ranges: ChunkRanges, signal?: AbortSignal,
  options: WalkBatchOptions = {}): AsyncGenerator<WalkItem[]> {
  const batchBytes = options.batchBytes ?? WALK_BATCH_BYTES
  const hash = hashArg('hash', blob.hash)
  const groupLog = blob.groupLog ?? GROUP_LOG
  const tree = new BaoTree(blob.size, groupLog)
  const core = blob.core ?? defaultCore()
  const data = toAccess(blob.data)
  const windows = options.transient === true && data.readInto !== undefined ? new Windows(data, tree.size) : undefined
  const pairs = isPairSource(blob.pairs) ? blob.pairs : preOrderPairs(blob.pairs)
  const present = blob.present
  const query = ranges.canonicalize(tree.size)
  const stack: WalkNode[] = query.isEmpty()
    ? []
    : [{ startChunk: 0, chunks: tree.chunks, isRoot: true, expected: hash, index: 0 }]
  /**
   * The checked, fully present subtree (a group, or a node inside a partly present group) the
   * walk is inside: pairs and data below it come from its bytes.
   */
  let loaded: { startChunk: number, chunks: number, data: Uint8Array } | undefined

  // A request for many scattered chunks of a blob in memory is all microtasks: let others run.
  const turns = new Yielder()
  const batch = new Batch()
  try {
    while (stack.length > 0) {
      signal?.throwIfAborted()
      if (turns.due()) await turns.pause()
      const node = stack.pop() as WalkNode
      const end = node.startChunk + node.chunks
      if (present !== undefined && !present.intersects(node.startChunk, end)) {
        throw new MissingRange(node.startChunk, end)
      }
      if (node.chunks > tree.blockChunks) {
        const pair = await pairs.readPair(parentNode(node, groupLog), node.index)
        checkPair(core, pair, node)
        const item: WalkItem = { type: 'pair', pair }
        if (!batch.add(item)) { yield batch.take(); batch.add(item) }
        pushChildren(stack, node, pair, query, tree.blockChunks)
        continue
      }
      if (loaded !== undefined && (node.startChunk < loaded.startChunk || end > loaded.startChunk + loaded.chunks)) {
        loaded = undefined
      }
      const offset = node.startChunk * CHUNK_SIZE
      const length = Math.min(node.chunks * CHUNK_SIZE, tree.size - offset)
      if (loaded === undefined && (present === undefined || present.containsRange(node.startChunk, end))) {
        // Everything below is present: read it whole and check it once.
        let bytes = windows?.find(offset, length)
        if (bytes === undefined && windows !== undefined && length <= WINDOW) {
          // The window filled next may hold items of this batch: they go out first.
          if (batch.views(windows.next)) yield batch.take()
          bytes = await windows.fill(offset, length)
        }
        bytes ??= await data.readAt(offset, length)
        if (!equalBytes(core.subtreeCV(bytes, node.startChunk, node.isRoot), node.expected)) {
          throw new LeafHashMismatch(offset, length, true)
        }
        loaded = { startChunk: node.startChunk, chunks: node.chunks, data: bytes }
      }
      if (query.containsRange(node.startChunk, end)) {
        if (loaded === undefined) throw new MissingRange(node.startChunk, end)
        const from = offset - loaded.startChunk * CHUNK_SIZE
        const item: WalkItem = { type: 'data', offset, data: loaded.data.subarray(from, from + length) }
        if (!batch.add(item)) { yield batch.take(); batch.add(item) }
        if (batch.bytes >= batchBytes) yield batch.take()
        continue
      }
      // Partly requested: this node's pair, from checked bytes or as stored for a partial group.
      let pair: Uint8Array | undefined
      if (loaded !== undefined) {
        const from = offset - loaded.startChunk * CHUNK_SIZE
        pair = innerPair(core, loaded.data.subarray(from, from + length), node.startChunk, node.chunks)
      } else {
        pair = await pairs.readChunkPair?.(chunkNode(node.startChunk, node.chunks))
        if (pair === undefined) throw new MissingRange(node.startChunk, end)
        checkPair(core, pair, node)
      }
      const item: WalkItem = { type: 'pair', pair }
      if (!batch.add(item)) { yield batch.take(); batch.add(item) }
      pushChildren(stack, node, pair, query, tree.blockChunks)
    }
  } catch (err) {
    if (batch.items.length > 0 && signal?.aborted !== true) yield batch.take()
    throw err
  }
  if (batch.items.length > 0) yield batch.take()
}

/** Items gathered for walkValidatedBatches: their bytes, and the larger buffers they are views of. */
class Batch {
  items: WalkItem[] = []
  bytes = 0
  private viewed: ArrayBufferLike[] = []

  /** Whether an item is a view of `buffer` (looks at every item: once per window filled). */
  views (buffer: ArrayBufferLike | undefined): boolean {
    return buffer !== undefined && this.items.some(item => (item.type === 'data' ? item.data : item.pair).buffer === buffer)
  }

  /**
   * Add `item`, unless its bytes are a view of a larger buffer that would be the batch's
   * WALK_BATCH_BUFFERS + 1st: then false, and the batch is left as it was (yield it, add again).
   */
  add (item: WalkItem): boolean {
    const bytes = item.type === 'data' ? item.data : item.pair
    const buffer = bytes.buffer
    if (buffer.byteLength > bytes.byteLength && !this.viewed.includes(buffer)) {
      if (this.viewed.length >= WALK_BATCH_BUFFERS) return false
      this.viewed.push(buffer)
    }
    this.items.push(item)
    this.bytes += bytes.byteLength
    return true
  }

  /** The items so far; the batch starts empty again (before it is yielded, so a throw() at the yield cannot send them twice). */
  take (): WalkItem[] {
    const items = this.items
    this.items = []
    this.bytes = 0
    this.viewed = []
    return items
  }
}

function isPairSource (value: Uint8Array | RandomAccess | PairSource): value is PairSource {
  return 'readPair' in value
}

function checkPair (core: Blake3Core, pair: Uint8Array, node: WalkNode): void {
  if (!equalBytes(core.parentCV(pair, node.isRoot), node.expected)) {
    throw new ParentHashMismatch(node.startChunk, node.startChunk + node.chunks, true)
  }
}

/**
 * A transient walk's reads: two buffers filled in turn, WINDOW bytes at a time (less at the end of
 * the blob). A window stays until the other one has been filled since, so the walk's current
 * group and what its batch still needs are never in the buffer filled next but when the walk
 * asked (`views`) and yielded first.
 */
class Windows {
  private readonly buffers: Uint8Array[] = []
  private readonly filled: Array<{ offset: number, bytes: Uint8Array } | undefined> = [undefined, undefined]
  private turn = 0

  constructor (private readonly data: RandomAccess, private readonly size: number) {}

  /** The buffer the next fill overwrites (undefined before it exists). */
  get next (): ArrayBufferLike | undefined { return this.buffers[this.turn]?.buffer }

  /** `length` bytes at `offset` if a window holds them. */
  find (offset: number, length: number): Uint8Array | undefined {
    for (const w of this.filled) {
      if (w !== undefined && offset >= w.offset && offset + length <= w.offset + w.bytes.length) return w.bytes.subarray(offset - w.offset, offset - w.offset + length)
    }
    return undefined
  }

  /** Fill the next window from `offset`; the first `length` bytes of it. */
  async fill (offset: number, length: number): Promise<Uint8Array> {
    const turn = this.turn
    this.turn ^= 1
    this.filled[turn] = undefined
    // No larger than what is left of the blob from here (the walk's reads only move forward).
    const want = Math.min(WINDOW, Math.max(this.size - offset, length))
    let buffer = this.buffers[turn]
    if (buffer === undefined || buffer.length < want) buffer = this.buffers[turn] = new Uint8Array(want)
    const got = await (this.data.readInto as NonNullable<RandomAccess['readInto']>)(offset, buffer.subarray(0, want))
    if (got < length) throw new RangeError(`read of ${length} bytes at ${offset} went past the end of the data (${got} there)`)
    const bytes = buffer.subarray(0, got)
    this.filled[turn] = { offset, bytes }
    return bytes.subarray(0, length)
  }
}

/** The pair of a node computed from its bytes: the values of its two halves. */
function innerPair (core: Blake3Core, bytes: Uint8Array, startChunk: number, chunks: number): Uint8Array {
  const left = largestPowerOfTwoBelow(chunks)
  const split = left * CHUNK_SIZE
  const pair = new Uint8Array(PAIR_SIZE)
  pair.set(core.subtreeCV(bytes.subarray(0, split), startChunk, false), 0)
  pair.set(core.subtreeCV(bytes.subarray(split), startChunk + left, false), 32)
  return pair
}
