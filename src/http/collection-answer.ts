import { toHex } from '../../store/hash-text.js'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { type Answer, type Ask, textAnswer } from './answer.js'
import { blobAnswer } from './blob-answer.js'
import { CollectionIndex } from './collection-index.js'
import { type CollectionPath, encodePath, parseCollectionPath } from './collection-path.js'
import type { Collections } from './collections.js'
import { listingAnswer } from './listing.js'

/**
 * `/blob/<collection hash>/<path>`, however it was asked: a path ending in `/` (the empty path
 * too) lists that directory of the collection (listing.ts: HTML, or JSON on `Accept:
 * application/json`); another path is a file the collection names, answered as its blob is
 * (blob-answer.ts: Range, ETag, on-demand fetching, HEAD as GET, `Accept: application/x-bao`),
 * typed by its name, with `x-verity-hash` naming the file's blob. A directory asked without its
 * `/` is redirected to it (301), so the listing's relative links resolve. 400 for a path no
 * collection names (collection-path.ts), 414 for one too long, 404 for a name not in the
 * collection or a blob that is no collection, 502 when the providers did not deliver its index.
 */
export async function collectionAnswer (node: VerityNode, providers: PeerTarget[], collections: Collections, hash: Uint8Array, rawPath: string, ask: Ask): Promise<Answer> {
  let path: CollectionPath
  try {
    path = parseCollectionPath(rawPath)
  } catch (err) {
    const error = err as Error
    if (error.name === 'InvalidPath') return textAnswer(400, `${error.message}\n`)
    if (error.name === 'PathTooLong') return textAnswer(414, `${error.message}\n`)
    throw err
  }
  const index = await collections.get(hash)
  if (!(index instanceof CollectionIndex)) return textAnswer(index.status, `${index.why}\n`)
  const hex = toHex(hash)
  const joined = path.parts.join('/')
  if (path.directory) {
    const dir = index.directory(joined)
    if (dir === undefined) return textAnswer(404, `no directory ${JSON.stringify(joined)} in collection ${hex}\n`)
    return await listingAnswer(node, hash, joined, dir, ask)
  }
  const file = index.file(joined)
  if (file === undefined) {
    if (index.directory(joined) === undefined) return textAnswer(404, `no file ${JSON.stringify(joined)} in collection ${hex}\n`)
    const query = ask.url.indexOf('?')
    const location = `./${encodePath(path.parts[path.parts.length - 1] as string)}/${query === -1 ? '' : ask.url.slice(query)}`
    return textAnswer(301, `${joined} is a directory: ${location}\n`, { location })
  }
  return await blobAnswer(node, providers, file.hash, ask, { name: file.name, headers: { 'x-verity-hash': toHex(file.hash) } })
}
