import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (tests run from dist/test). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The official BLAKE3 test vectors, kept in the repository (test/vectors/blake3.json). */
export interface Blake3Vectors { cases: Array<{ input_len: number, hash: string }> }
export function loadVectors (): Blake3Vectors {
  return JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'blake3.json'), 'utf8')) as Blake3Vectors
}

/** The vectors' input: byte i is i % 251. */
export function pattern (length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = i % 251
  return out
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function randomBytes (length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
}

export function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

export async function collect<T> (source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of source) items.push(item)
  return items
}

/** Yields `bytes` in slices cut at the given positions. */
export async function * sliced (bytes: Uint8Array, cuts: number[] = []): AsyncGenerator<Uint8Array> {
  let start = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut > start && cut < bytes.length) {
      yield bytes.subarray(start, cut)
      start = cut
    }
  }
  if (start < bytes.length || bytes.length === 0) yield bytes.subarray(start)
}

/** Runs `fn` and returns the error it throws (fails the test if it does not throw). */
export async function rejection (fn: () => Promise<unknown> | unknown): Promise<Error> {
  try {
    await fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error, none was thrown')
}

/** Flip the bits `mask` of byte `at` of `bytes` in place (a corrupted byte in memory). */
export function flip (bytes: Uint8Array, at: number, mask = 1): void {
  if (at < 0 || at >= bytes.length) throw new RangeError(`byte ${at} is outside ${bytes.length} bytes`)
  bytes[at] = (bytes[at] as number) ^ mask
}

/** Flip one bit of a file at byte `at`: bit rot, for the tests of verify and of corrupt reads. */
export function flipBit (path: string, at: number, mask = 0x08): void {
  const fd = openSync(path, 'r+')
  try {
    const byte = Buffer.alloc(1)
    readSync(fd, byte, 0, 1, at)
    byte[0] = (byte[0] as number) ^ mask
    writeSync(fd, byte, 0, 1, at)
  } finally {
    closeSync(fd)
  }
}
