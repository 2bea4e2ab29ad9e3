import { HASH_SIZE } from './bao/constants.js'
import { MalformedMessage } from './codec/errors.js'
import { PostcardReader, PostcardWriter } from './codec/postcard.js'
import { DuplicateName, InvalidHashSeq, UnsafeName } from './errors.js'

/** The 13 ASCII bytes that start a collection's metadata blob. */
const MAGIC = new TextEncoder().encode('CollectionV0.')
/** Collection metadata larger than this is refused (names only: 64 MiB is generous). */
const MAX_META = 64 << 20

/** A HashSeq: the concatenated 32-byte hashes of a blob. */
export function encodeHashSeq (hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_SIZE)
  hashes.forEach((hash, i) => out.set(hash, i * HASH_SIZE))
  return out
}

export function decodeHashSeq (bytes: Uint8Array): Uint8Array[] {
  if (bytes.length % HASH_SIZE !== 0) throw new InvalidHashSeq(`HashSeq of ${bytes.length} bytes is not a multiple of 32`)
  const hashes: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += HASH_SIZE) hashes.push(bytes.slice(at, at + HASH_SIZE))
  return hashes
}

/**
 * Returns `name` if it is a safe relative path: `/`-separated, not absolute, no empty, `.` or
 * `..` components, no backslash, NUL or drive letter. UnsafeName otherwise.
 */
export function safeName (name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new UnsafeName(String(name))
  if (name.startsWith('/') || name.includes('\\') || name.includes('\0') || /^[a-zA-Z]:/.test(name)) throw new UnsafeName(name)
  for (const part of name.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new UnsafeName(name)
  }
  return name
}

/**
 * Returns `names` if no two of them would be written to the same place: no name twice, and no
 * name that is also a directory of another (`a` and `a/b`). DuplicateName otherwise. Linear in
 * the total length (a tree of the names' components).
 */
export function uniqueNames<T extends readonly string[]> (names: T): T {
  interface Node { file: boolean, children: Map<string, Node> }
  const root: Node = { file: false, children: new Map() }
  for (const name of names) {
    const parts = name.split('/')
    let node = root
    for (const [i, part] of parts.entries()) {
      if (node.file) throw new DuplicateName(name, `the collection names ${JSON.stringify(parts.slice(0, i).join('/'))} as a file and as a directory of ${JSON.stringify(name)}`)
      let child = node.children.get(part)
      if (child === undefined) {
        child = { file: false, children: new Map() }
        node.children.set(part, child)
      }
      node = child
    }
    if (node.file) throw new DuplicateName(name)
    if (node.children.size > 0) throw new DuplicateName(name, `the collection names ${JSON.stringify(name)} as a file and as a directory of another entry`)
    node.file = true
  }
  return names
}

/** `CollectionV0.` then postcard Vec<String> of the names. */
export function encodeCollectionMeta (names: string[]): Uint8Array {
  const writer = new PostcardWriter().bytes(MAGIC).varint(names.length)
  for (const name of names) {
    const bytes = new TextEncoder().encode(safeName(name))
    writer.varint(bytes.length).bytes(bytes)
  }
  return writer.finish()
}

export function decodeCollectionMeta (bytes: Uint8Array): string[] {
  if (bytes.length > MAX_META) throw new InvalidHashSeq(`collection metadata of ${bytes.length} bytes is too large`)
  if (bytes.length < MAGIC.length || !MAGIC.every((b, i) => bytes[i] === b)) throw new InvalidHashSeq('not a collection: metadata does not start with CollectionV0.')
  const reader = new PostcardReader(bytes.subarray(MAGIC.length))
  try {
    const count = reader.varint(reader.remaining)
    const names: string[] = []
    const decoder = new TextDecoder('utf-8', { fatal: true })
    for (let i = 0; i < count; i++) names.push(safeName(decoder.decode(reader.take(reader.varint(reader.remaining)))))
    if (reader.remaining !== 0) throw new InvalidHashSeq(`${reader.remaining} bytes after the collection metadata`)
    return names
  } catch (err) {
    if (err instanceof MalformedMessage || err instanceof TypeError) throw new InvalidHashSeq(`bad collection metadata: ${err.message}`)
    throw err
  }
}
