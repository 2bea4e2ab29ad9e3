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
  hashArg('hash', hash)
  const owned = !(source instanceof ByteReader)
  const reader = source instanceof ByteReader ? source : new ByteReader(source, options.signal)
  const groupLog = options.groupLog ?? GROUP_LOG
  const core = options.core ?? defaultCore()

  const header = await reader.read(SIZE_HEADER)
  const declared = new DataView(header.buffer, header.byteOffset, SIZE_HEADER).getBigUint64(0, true)
  if (declared > BigInt(MAX_SIZE)) throw new InvalidSize(declared, `size ${declared} is above 2^53 - 1`)
  const tree = new BaoTree(Number(declared), groupLog)
  yield { type: 'size', size: tree.size }

  const query = ranges.canonicalize(tree.size)
  const stack: WalkNode[] = query.isEmpty()
    ? []
    : [{ startChunk: 0, chunks: tree.chunks, isRoot: true, expected: hash, index: 0 }]
  const turns = new Yielder()
  while (stack.length > 0) {
    options.signal?.throwIfAborted()
    if (turns.due()) await turns.pause()
    const node = stack.pop() as WalkNode
    const end = node.startChunk + node.chunks
    if (node.chunks <= tree.blockChunks && query.containsRange(node.startChunk, end)) {
      const offset = node.startChunk * CHUNK_SIZE
      const length = Math.min(node.chunks * CHUNK_SIZE, tree.size - offset)
      const data = options.transient === true ? await reader.readTransient(length) : await reader.read(length)
      if (!equalBytes(core.subtreeCV(data, node.startChunk, node.isRoot), node.expected)) {
        throw new LeafHashMismatch(offset, data.length)
      }
      yield { type: 'leaf', offset, data }
      continue
    }
    const pair = await reader.read(PAIR_SIZE)
    if (!equalBytes(core.parentCV(pair, node.isRoot), node.expected)) {
      throw new ParentHashMismatch(node.startChunk, end)
    }
    yield node.chunks > tree.blockChunks
      ? { type: 'parent', node: parentNode(node, groupLog), pair }
      : { type: 'chunkParent', node: chunkNode(node.startChunk, node.chunks), pair }
    pushChildren(stack, node, pair, query, tree.blockChunks)
  }
  if (owned && !(await reader.atEnd())) throw new TrailingData(reader.position)
}
