import { HashSeqReader } from '../../store/hash-seq.js'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore } from '../../store/interface.js'
import type { AnnouncePolicy } from './interface.js'

/**
 * The complete blobs a policy announces, by hex hash: `all` of them, those a tag keeps (with a
 * tagged HashSeq's children, one level, as GC keeps them), or none. One pass over the store's
 * list (or its tags); a HashSeq that cannot be read adds only itself.
 */
export async function wantedBlobs (store: Pick<BlobStore, 'list' | 'tags' | 'status' | 'reader'>, policy: AnnouncePolicy,
  signal?: AbortSignal): Promise<Map<string, Uint8Array>> {
  const wanted = new Map<string, Uint8Array>()
  switch (policy) {
    case 'none': return wanted
    case 'all':
      for await (const { hash, status } of store.list()) {
        signal?.throwIfAborted()
        if (status.status === 'complete') wanted.set(toHex(hash), hash)
      }
      return wanted
    case 'tagged':
      for await (const { value } of store.tags.list()) {
        signal?.throwIfAborted()
        await addComplete(store, wanted, value.hash)
        if (value.format !== 'hashseq') continue
        let children: HashSeqReader
        try {
          children = await HashSeqReader.open(store, value.hash)
        } catch {
          continue // not here whole, or not a HashSeq: its children are unknown
        }
        for await (const child of children) await addComplete(store, wanted, child)
      }
      return wanted
    default: {
      const unknown: never = policy
      throw new TypeError(`unknown announce policy ${String(unknown)}`)
    }
  }
}

async function addComplete (store: Pick<BlobStore, 'status'>, wanted: Map<string, Uint8Array>, hash: Uint8Array): Promise<void> {
  const hex = toHex(hash)
  if (!wanted.has(hex) && (await store.status(hash)).status === 'complete') wanted.set(hex, hash)
}
