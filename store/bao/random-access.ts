/**
 * Random-access bytes: a blob's data or its outboard, in memory or on disk. `readAt` returns a
 * buffer the caller may keep; it holds exactly `length` bytes or throws.
 */
export interface RandomAccess {
  readAt: (offset: number, length: number) => Promise<Uint8Array> | Uint8Array
  /**
   * Optional: read up to `target.length` bytes at `offset` into `target`; resolves to how many
   * (fewer only where the source ends). For a reader that reuses its own buffers (a transient
   * walk) instead of taking a fresh one per read.
   */
  readInto?: (offset: number, target: Uint8Array) => Promise<number> | number
}

/** Views of an in-memory buffer; no copies. */
export function bytesAccess (bytes: Uint8Array): RandomAccess {
  return {
    readAt (offset: number, length: number): Uint8Array {
      if (offset < 0 || offset + length > bytes.length) {
        throw new RangeError(`read of ${length} bytes at ${offset} is outside ${bytes.length} bytes`)
      }
      return bytes.subarray(offset, offset + length)
    }
  }
}

export function toAccess (source: Uint8Array | RandomAccess): RandomAccess {
  return source instanceof Uint8Array ? bytesAccess(source) : source
}
