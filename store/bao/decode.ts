import { CHUNK_SIZE, GROUP_LOG, MAX_SIZE, PAIR_SIZE, SIZE_HEADER } from './constants.js'
import { ByteReader } from './byte-reader.js'
import { defaultCore } from './core.js'
import { InvalidSize, LeafHashMismatch, ParentHashMismatch, TrailingData } from './errors.js'
import type { Blake3Core } from './interface.js'
import { equalBytes } from './math.js'
import { BaoTree, chunkNode } from './tree.js'
import { hashArg } from './validate.js'
import { parentNode, pushChildren, type WalkNode } from './walk.js'
import type { ChunkRanges } from '../ranges/chunk-ranges.js'
import { Yielder } from '../yielder.js'

/** What the decoder yields; every item has been verified against the root hash. */
export type DecodedItem =
  /** The size header: read first, proven once the last chunk verifies. */
  | { type: 'size', size: number }
  /** A parent pair above group level, with its block-level in-order node number (see BaoTree). */
  | { type: 'parent', node: number, pair: Uint8Array }
  /**
   * A pair inside a group (sent because the request covers the group only partly), with its
   * chunk-level in-order number: a store keeps it while the group is partly present.
   */
  | { type: 'chunkParent', node: number, pair: Uint8Array }
  /** Verified data: a whole group, or a covered part of one. */
  | { type: 'leaf', offset: number, data: Uint8Array }

export interface DecodeOptions {
  /** @default 4 */
  groupLog?: number
  core?: Blake3Core
  signal?: AbortSignal
  /**
   * Leaf data may be a view of a buffer the decoder fills again: valid only until the next item
   * is asked for. For a consumer that copies what it keeps (the store's importer). @default false
   */
  transient?: boolean
}

/**
 * Decode and verify the encoded stream of PROTOCOL.md section 4 for `ranges` of the blob `hash`.
 * Yields only verified items, buffers at most one group, and throws at the first bad byte:
 * ParentHashMismatch, LeafHashMismatch, UnexpectedEnd, InvalidSize.
 *
 * Given a ByteReader, it reads exactly this blob's encoding and leaves the rest for the next
 * decoder; given any other async iterable, bytes after the encoding throw TrailingData.
 */
export async function * decodeRanges (
  hash: Uint8Array,
  ranges: ChunkRanges,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ByteReader,
  options: DecodeOptions = {}
): AsyncGenerator<DecodedItem> {
  for await (const batch of decodeRangesBatches(hash, ranges, source, options)) yield * batch
}

/** Bytes of verified data a batch of decodeRangesBatches gathers, at most (about). */
export const DECODE_BATCH_BYTES = 256 << 10

/**
 * decodeRanges' items in batches, in the same order: a consumer (the store's importer) pays each
 * step of its loop once per batch, not once per 16 KiB group and once per pair. A batch is what
 * verifies from the bytes already at hand, up to DECODE_BATCH_BYTES: it is yielded before the
 * decoder waits for more of the source, so nothing verified waits on the network. The size
 * header comes alone, first, before anything else is read. On a failure the items verified before
 * it are yielded first (unless the signal aborted), then the error is thrown.
 *
 * With `transient`, a leaf may be a view of the reader's buffer that the next gathering read fills
 * again: valid until the next batch is asked for (a batch is yielded before such a read).
 */
export async function * decodeRangesBatches (
  hash: Uint8Array,
  ranges: ChunkRanges,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ByteReader,
  options: DecodeOptions = {}
): AsyncGenerator<DecodedItem[]> {
  hashArg('hash', hash)
  const owned = !(source instanceof ByteReader)
  const reader = source instanceof ByteReader ? source : new ByteReader(source, options.signal)
  const groupLog = options.groupLog ?? GROUP_LOG
  const transient = options.transient === true

  const header = await reader.read(SIZE_HEADER)
  const declared = new DataView(header.buffer, header.byteOffset, SIZE_HEADER).getBigUint64(0, true)
  if (declared > BigInt(MAX_SIZE)) throw new InvalidSize(declared, `size ${declared} is above 2^53 - 1`)
  const tree = new BaoTree(Number(declared), groupLog)
  yield [{ type: 'size', size: tree.size }]

  const walk = new DecodeWalk(hash, tree, ranges.canonicalize(tree.size), options.core ?? defaultCore(), groupLog)
  // Each pass verifies up to a batch: the clock is looked at every pass.
  const turns = new Yielder(undefined, 1)
  try {
    while (!walk.done) {
      options.signal?.throwIfAborted()
      if (turns.due()) await turns.pause()
      walk.verifyAtHand(reader)
      if (walk.done) break
      if (walk.full) {
        yield walk.take()
        continue
      }
      // The slice at hand ends inside the next node. Before waiting on the source (and,
      // transient, refilling the buffer a leaf of this batch may view), what verified goes out.
      if (walk.batch.length > 0) yield walk.take()
      const leaf = walk.nextIsLeaf()
      const length = walk.nextLength(leaf)
      walk.verify(transient && leaf ? await reader.readTransient(length) : await reader.read(length), leaf)
    }
  } catch (err) {
    if (walk.batch.length > 0 && options.signal?.aborted !== true) yield walk.take()
    throw err
  }
  if (walk.batch.length > 0) yield walk.take()
  if (owned && !(await reader.atEnd())) throw new TrailingData(reader.position)
}

/**
 * The decoder's walk over the tree: the nodes still to verify, and the batch of what verified.
 * Synchronous: the nodes whose bytes are at hand are verified without an await each, and the
 * decoder around it awaits only to hand out a batch or to wait on the source.
 */
class DecodeWalk {
  batch: DecodedItem[] = []
  /** Bytes in the batch (data, and 64 per pair). */
  private bytes = 0
  private readonly stack: WalkNode[]

  constructor (hash: Uint8Array, private readonly tree: BaoTree, private readonly query: ChunkRanges,
    private readonly core: Blake3Core, private readonly groupLog: number) {
    this.stack = query.isEmpty() ? [] : [{ startChunk: 0, chunks: tree.chunks, isRoot: true, expected: hash, index: 0 }]
  }

  get done (): boolean { return this.stack.length === 0 }

  /** Whether the batch is due to go out. */
  get full (): boolean { return this.bytes >= DECODE_BATCH_BYTES }

  /** The batch so far; a new one is begun (before the yield, so nothing is sent twice). */
  take (): DecodedItem[] {
    const out = this.batch
    this.batch = []
    this.bytes = 0
    return out
  }

  /** Verify nodes whose bytes the reader holds at hand (views, no copy), until the batch is full. */
  verifyAtHand (reader: ByteReader): void {
    while (this.stack.length > 0 && this.bytes < DECODE_BATCH_BYTES) {
      const leaf = this.nextIsLeaf()
      const bytes = reader.take(this.nextLength(leaf))
      if (bytes === undefined) return
      this.verify(bytes, leaf)
    }
  }

  /** Whether the next node is data (else a pair). */
  nextIsLeaf (): boolean {
    const node = this.stack[this.stack.length - 1] as WalkNode
    return node.chunks <= this.tree.blockChunks && this.query.containsRange(node.startChunk, node.startChunk + node.chunks)
  }

  /** Bytes the next node takes: its data (`leaf`, what nextIsLeaf() says), or a pair. */
  nextLength (leaf: boolean): number {
    if (!leaf) return PAIR_SIZE
    const node = this.stack[this.stack.length - 1] as WalkNode
    const offset = node.startChunk * CHUNK_SIZE
    return Math.min(node.chunks * CHUNK_SIZE, this.tree.size - offset)
  }

  /** Check the next node (`leaf`, what nextIsLeaf() says) against `bytes`, nextLength() of them, and add its item to the batch. */
  verify (bytes: Uint8Array, leaf: boolean): void {
    const node = this.stack.pop() as WalkNode
    if (leaf) {
      const offset = node.startChunk * CHUNK_SIZE
      if (!equalBytes(this.core.subtreeCV(bytes, node.startChunk, node.isRoot), node.expected)) {
        throw new LeafHashMismatch(offset, bytes.length)
      }
      this.batch.push({ type: 'leaf', offset, data: bytes })
      this.bytes += bytes.length
      return
    }
    if (!equalBytes(this.core.parentCV(bytes, node.isRoot), node.expected)) {
      throw new ParentHashMismatch(node.startChunk, node.startChunk + node.chunks)
    }
    this.batch.push(node.chunks > this.tree.blockChunks
      ? { type: 'parent', node: parentNode(node, this.groupLog), pair: bytes }
      : { type: 'chunkParent', node: chunkNode(node.startChunk, node.chunks), pair: bytes })
    this.bytes += PAIR_SIZE
    pushChildren(this.stack, node, bytes, this.query, this.tree.blockChunks)
  }
}
