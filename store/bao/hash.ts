import { defaultCore } from './core.js'
import type { Blake3Core } from './interface.js'

/** The BLAKE3 hash (32 bytes) of `bytes`: the root of its hash tree. */
export function blake3 (bytes: Uint8Array, core: Blake3Core = defaultCore()): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${typeof bytes}`)
  return core.subtreeCV(bytes, 0, true)
}
