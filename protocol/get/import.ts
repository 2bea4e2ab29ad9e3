import type { BlobStore } from '../../store/interface.js'
import { HashSeqReader } from '../../store/hash-seq.js'
import { AtConnected, type ConnectedNext, type FetchRequest, type GetStats } from './machine.js'

export interface ImportStats extends GetStats {
  /** Verified bytes the store wrote (what it already had is not counted). */
  bytesWritten: number
}

/**
 * Run a Get or GetMany response into a store: each blob is verified as it streams and only what
 * verifies is written; a Get's children come from the root HashSeq, which must be complete in the
 * store by the time they are reached (sent first in the same response, or already here).
 */
export async function runToStore (store: BlobStore, connected: AtConnected): Promise<ImportStats> {
  let bytesWritten = 0
  let children: HashSeqReader | undefined
  let next: ConnectedNext = await connected.next()
  while (true) {
    switch (next.type) {
      case 'blob': {
        const end = await next.state.importInto(store)
        bytesWritten += end.imported?.bytesWritten ?? 0
        next = await end.next()
        break
      }
      case 'child': {
        const request = connected.request
        if (request.type !== 'get') throw new TypeError('only a Get has HashSeq children')
        children ??= await HashSeqReader.open(store, request.request.hash)
        const hash = await children.get(next.state.child)
        next = hash === undefined ? { type: 'closing', state: next.state.finish() } : { type: 'blob', state: next.state.next(hash) }
        break
      }
      case 'closing':
        return { ...(await next.state.next()), bytesWritten }
      default: {
        const unknown: never = next
        throw new TypeError(`unknown state ${JSON.stringify(unknown)}`)
      }
    }
  }
}

/** A response arriving on `source` without a stream of its own (a push's data), into the store. */
export async function importResponse (store: BlobStore, request: FetchRequest, source: AsyncIterable<Uint8Array>,
  options: { framed: boolean, signal?: AbortSignal }): Promise<ImportStats> {
  return runToStore(store, AtConnected.fromSource(source, request, options))
}
