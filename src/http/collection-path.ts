import { InvalidPath, PathTooLong } from './errors.js'

/** The longest path in a collection the gateway reads, percent-encoded as it came. */
export const MAX_PATH_LENGTH = 4096

/** A path inside a collection, as asked: its decoded parts and whether it ends in `/` (a directory). */
export interface CollectionPath {
  parts: string[]
  directory: boolean
}

/**
 * The path after `/blob/<hash>/`, without its query: split at `/`, each part percent-decoded.
 * An empty path is the collection's top directory; a path ending in `/` names a directory. Throws
 * PathTooLong past MAX_PATH_LENGTH, and InvalidPath for what no collection names (store/collection.ts
 * `safeName`) or what could reach outside it: `.` and `..`, empty parts (`a//b`), a `/` or `\`
 * inside a part (`%2F`, `%5C`), NUL and other control characters, bad percent-encoding.
 */
export function parseCollectionPath (raw: string): CollectionPath {
  if (raw.length > MAX_PATH_LENGTH) throw new PathTooLong(raw.length, MAX_PATH_LENGTH)
  if (raw === '') return { parts: [], directory: true }
  const pieces = raw.split('/')
  const directory = pieces[pieces.length - 1] === ''
  if (directory) pieces.pop()
  const parts = pieces.map(piece => {
    let part: string
    try {
      part = decodeURIComponent(piece)
    } catch {
      throw new InvalidPath(raw, `bad percent-encoding in ${JSON.stringify(piece.slice(0, 200))}`)
    }
    if (part === '' || part === '.' || part === '..') throw new InvalidPath(raw)
    if (/[/\\\u0000-\u001f\u007f]/.test(part)) throw new InvalidPath(raw)
    return part
  })
  return { parts, directory }
}

/** A path's parts percent-encoded for a link (`a b/c#d` -> `a%20b/c%23d`). */
export function encodePath (path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}
