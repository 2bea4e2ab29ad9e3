import { piecesAsBatches } from '../../store/bao/encode.js'
import { HashSeqReader } from '../../store/hash-seq.js'
import { toHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { NotFound } from '../errors.js'
import type { ResponseWriter } from '../frame.js'
import type { ServedStore } from '../interface.js'
import { nextSelected, type RangeSpecSeq } from '../range-spec.js'
import { encodeObserveItem, type GetRequest, type ObserveItem } from '../request.js'
import { Yielder } from '../../store/yielder.js'

/**
 * The provider's plain logic: the first stages of a response's pipeline (read from the store and
 * encode: `encodeGet`, `encodeGetMany`), whose pieces the ResponseWriter frames and sends, and
 * Observe's loop. They throw on failure (NotFound, MissingRange after the valid prefix, ...); the
 * wrappers in provider.ts turn that into events and a status.
 */

/**
 * One blob's encoded ranges, read and encoded by the store, in batches of slices; NotFound if the
 * store has none of it. Returned, not delegated to from a generator of its own: each level of
 * `yield *` costs every batch.
 */
async function encodeBlob (store: ServedStore, hash: Uint8Array, ranges: ChunkRanges, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array[]>> {
  if ((await store.status(hash)).status === 'absent') throw new NotFound(toHex(hash), `blob ${toHex(hash)} is not here`)
  const options = signal === undefined ? {} : { signal }
  // Transient: the ResponseWriter copies each batch into frames before it asks for the next.
  if (store.exportBaoBatches !== undefined) return store.exportBaoBatches(hash, ranges, { ...options, transient: true })
  return piecesAsBatches(store.exportBao(hash, ranges, options))
}

/**
 * Get: the root's ranges, then each selected child of the HashSeq in the root, in order. The root
 * is read as a HashSeq only when children are asked for and it is one (complete, a multiple of 32
 * bytes, within the HashSeq limit), a window of children at a time.
 */
export async function * encodeGet (store: ServedStore, request: GetRequest, signal?: AbortSignal): AsyncGenerator<Uint8Array[]> {
  const seq = request.ranges
  let offset = nextSelected(seq, 0)
  if (offset === 0) {
    yield * await encodeBlob(store, request.hash, seq.at(0), signal)
    offset = nextSelected(seq, 1)
  }
  if (offset === undefined) return
  const children = await HashSeqReader.open(store, request.hash)
  const turns = new Yielder()
  while (offset !== undefined && offset - 1 < children.count) {
    signal?.throwIfAborted()
    const child = await children.get(offset - 1, signal === undefined ? {} : { signal }) as Uint8Array
    yield * await encodeBlob(store, child, seq.at(offset), signal)
    offset = nextSelected(seq, offset + 1)
    if (turns.due()) await turns.pause()
  }
}

/** GetMany: entry i of the sequence applies to hashes[i]. */
export async function * encodeGetMany (store: ServedStore, hashes: readonly Uint8Array[], seq: RangeSpecSeq, signal?: AbortSignal): AsyncGenerator<Uint8Array[]> {
  const turns = new Yielder()
  for (let i = nextSelected(seq, 0); i !== undefined && i < hashes.length; i = nextSelected(seq, i + 1)) {
    signal?.throwIfAborted()
    yield * await encodeBlob(store, hashes[i] as Uint8Array, seq.at(i), signal)
    if (turns.due()) await turns.pause()
  }
}

/**
 * Observe: the current bitfield (within the requested ranges), then XOR diffs each time it
 * changes, until the signal aborts (the requester went away). A plain loop, not a pipeline: each
 * message is flushed as soon as it is written (the observer is waiting for it).
 */
export async function sendObserve (store: ServedStore, hash: Uint8Array, ranges: ChunkRanges, out: ResponseWriter, signal: AbortSignal): Promise<void> {
  let previous: ObserveItem | undefined
  for await (const bitfield of store.observe(hash, { signal })) {
    const current = observed(bitfield.size, bitfield.ranges, ranges)
    if (previous === undefined) {
      await out.write(encodeObserveItem(current))
    } else {
      const chunks = Math.ceil(current.size / 1024)
      const diff = previous.ranges.xor(current.ranges).intersection(ChunkRanges.range(0, chunks))
      if (diff.isEmpty() && previous.size === current.size) continue
      await out.write(encodeObserveItem({ size: current.size, ranges: diff }))
    }
    await out.flush()
    previous = current
  }
}

/** The normalised state an observer sees: present chunks within the request, open-ended at the end. */
export function observed (size: number, present: ChunkRanges, requested: ChunkRanges): ObserveItem {
  return { size, ranges: present.canonicalize(size).intersection(requested.canonicalize(size)) }
}
