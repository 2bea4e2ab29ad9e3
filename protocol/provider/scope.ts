import { HashSeqReader } from '../../store/hash-seq.js'
import { toHex } from '../../store/hash-text.js'
import type { AbortOptions, Bitfield, BlobStore, HashAndFormat } from '../../store/interface.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { NotFound } from '../errors.js'
import type { ServedStore } from '../interface.js'

/**
 * A scope (`ProviderPolicy.scope`) of the given contents: a raw blob is its hash; a HashSeq is its
 * root and every child (for a collection, child 0 is the metadata blob with the names, so the
 * names are served with the files). One level, as GC keeps: a child that is itself a HashSeq
 * brings its own children only if it is given here too. The children are read now, so each root
 * given as a HashSeq must be complete in `store` (else NotFound) and one (else InvalidHashSeq).
 */
export async function scopeOf (store: Pick<BlobStore, 'status' | 'reader'>, contents: readonly HashAndFormat[], options: AbortOptions = {}): Promise<(hash: Uint8Array) => boolean> {
  const hexes = new Set<string>()
  for (const content of contents) {
    hexes.add(toHex(content.hash))
    if (content.format !== 'hashseq') continue
    const children = await HashSeqReader.open(store, content.hash)
    for (let i = 0; i < children.count; i++) hexes.add(toHex(await children.get(i, options) as Uint8Array))
  }
  return hash => hexes.has(toHex(hash))
}

/** What a provider's request last asked its store about: the blob it is reading (`ProviderEvent` 'aborted'). */
export interface Reading { blob?: Uint8Array }

/** The bitfield of a blob the store does not have (what `observe` yields for one, and never changes). */
const ABSENT: Bitfield = Object.freeze({ size: 0, sizeVerified: false, ranges: ChunkRanges.empty() })

/**
 * The store as one request reads it: what is out of `scope` looks absent, exactly as the store
 * shows a blob it lacks (status absent, so the handlers raise the same NotFound with the same
 * words; an unchanging empty bitfield to an observer), and each call records its hash in
 * `reading`. The handlers read one blob at a time, so the hash recorded last is the blob being
 * read when a request fails.
 */
export function servedView (store: ServedStore, scope: ((hash: Uint8Array) => boolean) | undefined, reading: Reading): ServedStore {
  const inScope = (hash: Uint8Array): boolean => {
    reading.blob = hash
    return scope === undefined || scope(hash)
  }
  return {
    status: async hash => inScope(hash) ? await store.status(hash) : { status: 'absent' },
    exportBao: (hash, ranges, options) => inScope(hash) ? store.exportBao(hash, ranges, options) : absent(hash),
    ...(store.exportBaoBatches === undefined
      ? {}
      : { exportBaoBatches: (hash, ranges, options) => inScope(hash) ? (store.exportBaoBatches as NonNullable<ServedStore['exportBaoBatches']>)(hash, ranges, options) : absent(hash) }),
    reader: (hash, options) => inScope(hash) ? store.reader(hash, options) : absent(hash),
    observe: (hash, options) => inScope(hash) ? store.observe(hash, options) : unchanging(ABSENT, options?.signal)
  }
}

/** A read of a blob that is not here. Unreached through the handlers, which ask its status first. */
async function * absent (hash: Uint8Array): AsyncGenerator<never> {
  throw new NotFound(toHex(hash), `blob ${toHex(hash)} is not here`)
}

/** One bitfield, then nothing until the signal aborts (with its reason), as observing an absent blob goes. */
async function * unchanging (bitfield: Bitfield, signal: AbortSignal | undefined): AsyncGenerator<Bitfield> {
  yield bitfield
  if (signal === undefined) return await new Promise<never>(() => {})
  signal.throwIfAborted()
  await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
  signal.throwIfAborted()
}
