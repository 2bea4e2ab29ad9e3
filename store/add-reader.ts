import type { FileHandle } from 'node:fs/promises'
import { defaultCore } from './bao/core.js'
import type { Blake3Core } from './bao/interface.js'

/** Chunks whose bytes stay unchanged until the consumer has asked for `held` more of them. */
export interface HeldChunks extends AsyncIterable<Uint8Array> {
  /**
   * A chunk's bytes are the source's until the consumer asks for the `held`-th chunk after it:
   * by then it must be done with them (hashed and written). Sources without this field are taken
   * to allow 2 (one write in flight while the next chunk is read).
   */
  readonly held: number
  /**
   * The consumer is done with every chunk (its last write has ended, or failed): buffers borrowed
   * from the BLAKE3 core go back. Until then they stay lent (a later reader makes its own).
   */
  release: () => void
}

export interface ReadAheadOptions {
  /** Bytes per read and per chunk. @default 1 MiB */
  step?: number
  /** Reads in flight ahead of the consumer. @default 4 */
  depth?: number
  /** Chunks the consumer may hold (see HeldChunks.held). @default 4 */
  held?: number
  /** The core that will hash the chunks: the buffers are borrowed from it where it lends them. @default defaultCore() */
  core?: Blake3Core
}

/**
 * A file's bytes in order, `depth` reads in flight ahead of the consumer so that reading overlaps
 * hashing and writing, into a ring of `depth + held` reused buffers (fresh buffers per read would
 * pile up as garbage that V8 frees late). The buffer of step s is read again for step
 * s + depth + held, which is issued when the consumer asks for step s + held: the HeldChunks
 * contract. The ring is borrowed from the BLAKE3 core where it lends one (the WASM kernel's own
 * memory), so the file is read straight to where it is hashed, with no copy in between; it goes
 * back on `release()`. A file that is shorter than `size` fails; one that grew is read to `size`. Reads in
 * flight when the consumer stops are awaited before the iterator returns, so the handle can close.
 */
export function readAhead (handle: FileHandle, size: number, options: ReadAheadOptions = {}): HeldChunks {
  const step = Math.min(options.step ?? 1 << 20, Math.max(size, 1))
  const depth = options.depth ?? 4
  const held = options.held ?? 4
  let release = (): void => {}
  return {
    held,
    release: () => { release() },
    async * [Symbol.asyncIterator] () {
      const steps = Math.ceil(size / step)
      const count = Math.min(depth + held, steps)
      const borrowed = count > 0 ? (options.core ?? defaultCore()).borrowInput?.(count, step) : undefined
      if (borrowed !== undefined) release = borrowed.release
      const ring = borrowed?.buffers ?? Array.from({ length: count }, () => new Uint8Array(step))
      const reads: Array<Promise<Uint8Array>> = []
      const issue = (s: number): void => {
        if (s >= steps) return
        const read = readFull(handle, ring[s % ring.length] as Uint8Array, Math.min(step, size - s * step), s * step)
        read.catch(() => {}) // awaited in order below; until then a failure is not unhandled
        reads.push(read)
      }
      try {
        for (let s = 0; s < depth; s++) issue(s)
        for (let s = 0; s < steps; s++) {
          issue(s + depth)
          yield await (reads.shift() as Promise<Uint8Array>)
        }
      } finally {
        await Promise.allSettled(reads)
      }
    }
  }
}

/** `length` bytes at `position` into the start of `buffer`, however many reads that takes. */
async function readFull (handle: FileHandle, buffer: Uint8Array, length: number, position: number): Promise<Uint8Array> {
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
    if (bytesRead === 0) throw new Error(`file shrank while being added: it ends at ${position + filled} bytes`)
    filled += bytesRead
  }
  return buffer.subarray(0, length)
}
