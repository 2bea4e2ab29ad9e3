import { CHUNK_SIZE, GROUP_LOG, PAIR_SIZE, SIZE_HEADER } from './constants.js'
import { defaultCore } from './core.js'
import { LeafHashMismatch, ParentHashMismatch } from './errors.js'
import type { Blake3Core } from './interface.js'
import { equalBytes, largestPowerOfTwoBelow } from './math.js'
import { toAccess, type RandomAccess } from './random-access.js'
import { BaoTree } from './tree.js'
import { hashArg } from './validate.js'
import { pushChildren, type WalkNode } from './walk.js'
import type { ChunkRanges } from '../ranges/chunk-ranges.js'

export interface EncodeOptions {
  /** The blob's BLAKE3 hash: every pair and group is checked against it before it is sent. */
  hash: Uint8Array
  size: number
  data: Uint8Array | RandomAccess
  /** Pre-order outboard of the blob. */
  outboard: Uint8Array | RandomAccess
  /** Chunks to send; cut at the blob's end as PROTOCOL.md section 3 says. */
  ranges: ChunkRanges
  /** @default 4 */
  groupLog?: number
  core?: Blake3Core
  /** Output slices are coalesced up to this many bytes. @default 65536 */
  bufferSize?: number
  signal?: AbortSignal
}

/**
 * The encoded stream of PROTOCOL.md section 4 for the chunks in `ranges`: the size header, then
 * parent pairs and leaf data in pre-order. Local data and outboard are validated on the way:
 * a group or pair that does not match the hash throws LeafHashMismatch / ParentHashMismatch with
 * `local: true`, and nothing of it is sent. Small items are coalesced into slices of
 * `bufferSize` bytes, so a transport sees few large writes.
 */
export async function * encodeRanges (options: EncodeOptions): AsyncGenerator<Uint8Array> {
  const hash = hashArg('hash', options.hash)
  const groupLog = options.groupLog ?? GROUP_LOG
  const tree = new BaoTree(options.size, groupLog)
  const core = options.core ?? defaultCore()
  const data = toAccess(options.data)
  const outboard = toAccess(options.outboard)
  const query = options.ranges.canonicalize(tree.size)
  const out = new Coalescer(options.bufferSize ?? 65536)

  const header = new Uint8Array(SIZE_HEADER)
  new DataView(header.buffer).setBigUint64(0, BigInt(tree.size), true)
  out.push(header)
  const stack: WalkNode[] = query.isEmpty()
    ? []
    : [{ startChunk: 0, chunks: tree.chunks, isRoot: true, expected: hash, index: 0 }]
  while (stack.length > 0) {
    options.signal?.throwIfAborted()
    const node = stack.pop() as WalkNode
    if (node.chunks > tree.blockChunks) {
      const pair = await outboard.readAt(node.index * PAIR_SIZE, PAIR_SIZE)
      if (!equalBytes(core.parentCV(pair, node.isRoot), node.expected)) {
        throw new ParentHashMismatch(node.startChunk, node.startChunk + node.chunks, true)
      }
      out.push(pair)
      pushChildren(stack, node, pair, query, tree.blockChunks)
    } else {
      const offset = node.startChunk * CHUNK_SIZE
      const length = Math.min(node.chunks * CHUNK_SIZE, tree.size - offset)
      const group = await data.readAt(offset, length)
      if (!equalBytes(core.subtreeCV(group, node.startChunk, node.isRoot), node.expected)) {
        throw new LeafHashMismatch(offset, length, true)
      }
      encodeGroup(out, core, query, group, node.startChunk, node.chunks)
    }
    yield * out.full()
  }
  yield * out.rest()
}

/**
 * The part of one verified group that `query` selects: covered subtrees as raw bytes, partly
 * covered ones as a pair computed from the data, then their children.
 */
function encodeGroup (out: Coalescer, core: Blake3Core, query: ChunkRanges, data: Uint8Array, startChunk: number, chunks: number): void {
  if (query.containsRange(startChunk, startChunk + chunks)) {
    out.push(data)
    return
  }
  const left = largestPowerOfTwoBelow(chunks)
  const split = left * CHUNK_SIZE
  const pair = new Uint8Array(PAIR_SIZE)
  pair.set(core.subtreeCV(data.subarray(0, split), startChunk, false), 0)
  pair.set(core.subtreeCV(data.subarray(split), startChunk + left, false), 32)
  out.push(pair)
  if (query.intersects(startChunk, startChunk + left)) {
    encodeGroup(out, core, query, data.subarray(0, split), startChunk, left)
  }
  if (query.intersects(startChunk + left, startChunk + chunks)) {
    encodeGroup(out, core, query, data.subarray(split), startChunk + left, chunks - left)
  }
}

/** Gathers small slices into larger ones; a lone slice is passed on without a copy. */
class Coalescer {
  private parts: Uint8Array[] = []
  private length = 0

  constructor (private readonly size: number) {}

  push (bytes: Uint8Array): void {
    this.parts.push(bytes)
    this.length += bytes.length
  }

  * full (): Generator<Uint8Array> {
    if (this.length >= this.size) yield this.take()
  }

  * rest (): Generator<Uint8Array> {
    if (this.length > 0) yield this.take()
  }

  private take (): Uint8Array {
    const parts = this.parts
    let joined: Uint8Array
    if (parts.length === 1) {
      joined = parts[0] as Uint8Array
    } else {
      joined = new Uint8Array(this.length)
      let offset = 0
      for (const part of parts) {
        joined.set(part, offset)
        offset += part.length
      }
    }
    this.parts = []
    this.length = 0
    return joined
  }
}
