import { MAX_SIZE, SIZE_HEADER } from './constants.js'
import type { Blake3Core } from './interface.js'
import type { PairSource } from './pair-source.js'
import type { RandomAccess } from './random-access.js'
import { walkValidatedBatches } from './validated-walk.js'
import type { ChunkRanges } from '../ranges/chunk-ranges.js'
import { InvalidSize } from './errors.js'

export interface EncodeOptions {
  /** The blob's BLAKE3 hash: every pair and group is checked against it before it is sent. */
  hash: Uint8Array
  size: number
  data: Uint8Array | RandomAccess
  /** Pre-order outboard of the blob, or a pair source (partial blobs). */
  outboard: Uint8Array | RandomAccess | PairSource
  /** Chunks present, for a partial blob. */
  present?: ChunkRanges
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
 * parent pairs and leaf data in pre-order. Every pair and group is validated against the hash
 * before it goes out (see walkValidated): local corruption or a missing range ends the stream with
 * a named error after the valid prefix. Small items are coalesced into slices of `bufferSize`
 * bytes, so a transport sees few large writes.
 */
export async function * encodeRanges (options: EncodeOptions): AsyncGenerator<Uint8Array> {
  const out = new Coalescer(options.bufferSize ?? 65536)
  try {
    for await (const batch of encodeBatches(options)) {
      for (const bytes of batch) {
        if (bytes.length >= PASS_THROUGH) {
          // A whole group goes out as it is (a view of the store's bytes): no copy here.
          yield * out.rest()
          yield bytes
          continue
        }
        out.push(bytes)
        yield * out.full()
      }
    }
  } catch (err) {
    // Send the valid prefix, then fail: a requester keeps what verified.
    yield * out.rest()
    throw err
  }
  yield * out.rest()
}

/**
 * The same encoded stream as encodeRanges, as batches of slices (the size header, pairs, views
 * of the store's groups; about 256 KiB of them a batch, none copied): for a consumer that copies
 * what it sends anyway (the provider frames it), so that each step of its pipeline runs once per
 * batch. On a failure the valid slices before it come first, then the error. With `transient`,
 * data with `readInto` is read into reused windows (walkValidatedBatches): a batch's slices are
 * valid only until the next batch is asked for.
 */
export async function * encodeBatches (options: EncodeOptions & { transient?: boolean }): AsyncGenerator<Uint8Array[]> {
  if (!Number.isSafeInteger(options.size) || options.size < 0 || options.size > MAX_SIZE) throw new InvalidSize(options.size)
  const header = new Uint8Array(SIZE_HEADER)
  new DataView(header.buffer).setBigUint64(0, BigInt(options.size), true)
  const items = walkValidatedBatches({
    hash: options.hash,
    size: options.size,
    data: options.data,
    pairs: options.outboard,
    ...(options.present === undefined ? {} : { present: options.present }),
    ...(options.groupLog === undefined ? {} : { groupLog: options.groupLog }),
    ...(options.core === undefined ? {} : { core: options.core })
  }, options.ranges, options.signal, { transient: options.transient === true })
  let first = true
  try {
    for await (const batch of items) {
      const slices: Uint8Array[] = first ? [header] : []
      first = false
      for (const item of batch) slices.push(item.type === 'pair' ? item.pair : item.data)
      yield slices
    }
  } catch (err) {
    if (first) yield [header] // the size header is the valid prefix of a walk that failed at once
    throw err
  }
  if (first) yield [header]
}

/** Each piece of an encoded stream as a batch of its own: encodeBatches' shape for a stream of pieces. */
export async function * piecesAsBatches (pieces: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array[]> {
  for await (const piece of pieces) yield [piece]
}

/** Slices at least this long are passed on alone rather than gathered. */
const PASS_THROUGH = 8192

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
