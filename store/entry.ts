import { MalformedMessage } from './codec/errors.js'
import { PAIR_SIZE } from './bao/constants.js'
import type { Bitfield } from './interface.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'

/**
 * What the store records of one blob. Data bytes live in the backend's data storage (or inline
 * for small complete blobs); pairs live in its pair storage (in-order while partial, pre-order
 * outboard once complete).
 */
export interface Entry {
  /** Declared size: proven once the last chunk verified (`sizeVerified`). */
  size: number
  sizeVerified: boolean
  /** Chunks verified and written, canonical for `size`. */
  present: ChunkRanges
  complete: boolean
  /** Complete blob's bytes kept in the entry (FsStore, small blobs). */
  inlineData?: Uint8Array
  /** Complete blob's pre-order outboard kept in the entry (FsStore, small outboards). */
  inlineOutboard?: Uint8Array
  /** A complete blob left in place by `addFile({ mode: 'reference' })`. */
  externalPath?: string
  /** Pairs inside partly present groups, by chunk-level node number. */
  chunkPairs: Map<number, Uint8Array>
}

/** What an entry says is present, as a Bitfield; an absent blob's is empty. */
export function bitfieldOf (entry: Entry | undefined): Bitfield {
  if (entry === undefined) return { size: 0, sizeVerified: false, ranges: ChunkRanges.empty() }
  return { size: entry.size, sizeVerified: entry.sizeVerified, ranges: entry.complete ? ChunkRanges.all() : entry.present }
}

const VERSION = 1
const FLAG_SIZE_VERIFIED = 1
const FLAG_COMPLETE = 2
const FLAG_INLINE_DATA = 4
const FLAG_INLINE_OUTBOARD = 8

/** A compact binary record: version, flags, size, boundaries, chunk pairs, inline parts, path. */
export function encodeEntry (entry: Entry): Uint8Array {
  const path = entry.externalPath === undefined ? new Uint8Array(0) : new TextEncoder().encode(entry.externalPath)
  const inlineData = entry.inlineData ?? new Uint8Array(0)
  const inlineOutboard = entry.inlineOutboard ?? new Uint8Array(0)
  const boundaries = entry.present.boundaries
  const length = 2 + 8 + 4 + boundaries.length * 8 + 4 + entry.chunkPairs.size * (8 + PAIR_SIZE) +
    4 + inlineData.length + 4 + inlineOutboard.length + 4 + path.length
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  let at = 0
  out[at++] = VERSION
  out[at++] = (entry.sizeVerified ? FLAG_SIZE_VERIFIED : 0) | (entry.complete ? FLAG_COMPLETE : 0) |
    (entry.inlineData !== undefined ? FLAG_INLINE_DATA : 0) | (entry.inlineOutboard !== undefined ? FLAG_INLINE_OUTBOARD : 0)
  view.setFloat64(at, entry.size, true); at += 8
  view.setUint32(at, boundaries.length, true); at += 4
  for (const b of boundaries) { view.setFloat64(at, b, true); at += 8 }
  view.setUint32(at, entry.chunkPairs.size, true); at += 4
  for (const [node, pair] of entry.chunkPairs) {
    view.setFloat64(at, node, true); at += 8
    out.set(pair, at); at += PAIR_SIZE
  }
  for (const part of [inlineData, inlineOutboard, path]) {
    view.setUint32(at, part.length, true); at += 4
    out.set(part, at); at += part.length
  }
  return out
}

export function decodeEntry (record: Uint8Array): Entry {
  // Plain Uint8Array views, whatever the caller's subclass (LevelDB hands out Buffers).
  const bytes = new Uint8Array(record.buffer, record.byteOffset, record.length)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  let at = 0
  const need = (n: number): void => {
    if (at + n > bytes.length) throw new MalformedMessage(`entry record ends at byte ${bytes.length}, ${n} more wanted at ${at}`)
  }
  need(14)
  if (bytes[at++] !== VERSION) throw new MalformedMessage(`unknown entry record version ${bytes[0]}`)
  const flags = bytes[at++] as number
  const size = view.getFloat64(at, true); at += 8
  const count = view.getUint32(at, true); at += 4
  need(count * 8)
  const boundaries: number[] = []
  for (let i = 0; i < count; i++) { boundaries.push(view.getFloat64(at, true)); at += 8 }
  need(4)
  const pairCount = view.getUint32(at, true); at += 4
  need(pairCount * (8 + PAIR_SIZE))
  const chunkPairs = new Map<number, Uint8Array>()
  for (let i = 0; i < pairCount; i++) {
    const node = view.getFloat64(at, true); at += 8
    chunkPairs.set(node, bytes.slice(at, at + PAIR_SIZE)); at += PAIR_SIZE
  }
  const parts: Uint8Array[] = []
  for (let i = 0; i < 3; i++) {
    need(4)
    const length = view.getUint32(at, true); at += 4
    need(length)
    parts.push(bytes.slice(at, at + length)); at += length
  }
  const [inlineData, inlineOutboard, path] = parts as [Uint8Array, Uint8Array, Uint8Array]
  const complete = (flags & FLAG_COMPLETE) !== 0
  return {
    size,
    sizeVerified: (flags & FLAG_SIZE_VERIFIED) !== 0,
    present: ChunkRanges.fromBoundaries(boundaries),
    complete,
    ...((flags & FLAG_INLINE_DATA) !== 0 ? { inlineData } : {}),
    ...((flags & FLAG_INLINE_OUTBOARD) !== 0 ? { inlineOutboard } : {}),
    ...(path.length > 0 ? { externalPath: new TextDecoder().decode(path) } : {}),
    chunkPairs
  }
}
