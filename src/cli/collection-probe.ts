import { HASH_SIZE } from '../../store/bao/constants.js'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'

/**
 * Whether the blob `hash`, here in full and fetched as a raw blob (a bare hash on the command
 * line says nothing of its format), is the index of a collection: a HashSeq whose first hash
 * names a metadata blob with one name for each of its other hashes. The metadata blob is fetched
 * from `providers` if it is not here (quietly: a raw blob's first 32 bytes name nothing a
 * provider has, so that fetch fails at once with NotFound and the answer is no).
 */
export async function isCollection (node: VerityNode, hash: Uint8Array, providers: PeerTarget[], options: { signal: AbortSignal, timeoutMs?: number }): Promise<boolean> {
  const status = await node.blobs.status(hash)
  if (status.status !== 'complete' || status.size < HASH_SIZE || status.size % HASH_SIZE !== 0) return false
  const first: Uint8Array[] = []
  for await (const piece of node.blobs.reader(hash, { offset: 0, length: HASH_SIZE, signal: options.signal })) first.push(piece)
  const meta = Buffer.concat(first)
  if ((await node.blobs.status(meta)).status !== 'complete') {
    if (providers.length === 0) return false
    try {
      await node.downloader.download({ request: { hash: meta, format: 'raw' }, providers, strategy: 'none', signal: options.signal, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) })
    } catch {
      options.signal.throwIfAborted()
      return false // the providers have no such blob: not a collection's names
    }
  }
  try {
    await node.blobs.readCollection(hash)
    return true
  } catch {
    return false // InvalidHashSeq or metadata that does not decode: a raw blob after all
  }
}
