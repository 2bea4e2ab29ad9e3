import { HASH_SIZE } from './bao/constants.js'
import { InvalidHashSeq, NotFound } from './errors.js'
import { toHex } from './hash-text.js'
import type { AbortOptions, BlobStore } from './interface.js'

/**
 * A blob larger than this (1,048,576 children) is not read as a HashSeq. Children are read a
 * window at a time, so the limit bounds what a HashSeq may claim, not what is held in memory.
 */
export const MAX_HASHSEQ_SIZE = 32 << 20

/** Hashes read from the store at a time: 32 KiB. */
const WINDOW = 1024

/**
 * The children of a HashSeq, read from the store a window at a time: a large HashSeq (or a large
 * raw blob a peer asks to read as one) is never held whole. Only a complete blob whose size is a
 * multiple of 32 and at most `maxSize` is read as a HashSeq.
 */
export class HashSeqReader {
  private window: { first: number, bytes: Uint8Array } | undefined

  private constructor (private readonly store: Pick<BlobStore, 'reader'>, readonly hash: Uint8Array, readonly count: number) {}

  /** NotFound unless the blob is complete here; InvalidHashSeq unless its size makes a HashSeq. */
  static async open (store: Pick<BlobStore, 'status' | 'reader'>, hash: Uint8Array, maxSize = MAX_HASHSEQ_SIZE): Promise<HashSeqReader> {
    const status = await store.status(hash)
    const hex = toHex(hash)
    if (status.status !== 'complete') throw new NotFound(hex, `HashSeq ${hex} is not complete here, so its children are unknown`)
    if (status.size % HASH_SIZE !== 0) throw new InvalidHashSeq(`blob ${hex} of ${status.size} bytes is not a HashSeq (not a multiple of 32 bytes)`)
    if (status.size > maxSize) throw new InvalidHashSeq(`blob ${hex} of ${status.size} bytes is over the HashSeq limit of ${maxSize} bytes`)
    return new HashSeqReader(store, hash, status.size / HASH_SIZE)
  }

  /** Child `index` (0-based), or undefined past the end. */
  async get (index: number, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`index must be a non-negative integer, got ${index}`)
    if (index >= this.count) return undefined
    let window = this.window
    if (window === undefined || index < window.first || index >= window.first + window.bytes.length / HASH_SIZE) {
      const first = index - (index % WINDOW)
      const length = Math.min(WINDOW, this.count - first) * HASH_SIZE
      const bytes = new Uint8Array(length)
      let at = 0
      for await (const piece of this.store.reader(this.hash, { offset: first * HASH_SIZE, length, ...options })) {
        bytes.set(piece, at)
        at += piece.length
      }
      if (at !== length) throw new InvalidHashSeq(`HashSeq ${toHex(this.hash)} gave ${at} of ${length} bytes at child ${first}`)
      window = { first, bytes }
      this.window = window
    }
    const at = (index - window.first) * HASH_SIZE
    return window.bytes.slice(at, at + HASH_SIZE)
  }

  /** Every child in order. */
  async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < this.count; i++) yield await this.get(i) as Uint8Array
  }
}
