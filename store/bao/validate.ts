import { HASH_SIZE } from './constants.js'

/** Returns `hash` if it is a 32-byte Uint8Array; TypeError or RangeError naming `name` otherwise. */
export function hashArg (name: string, hash: unknown): Uint8Array {
  if (!(hash instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${typeof hash}`)
  if (hash.length !== HASH_SIZE) throw new RangeError(`${name} must be ${HASH_SIZE} bytes, got ${hash.length}`)
  return hash
}
