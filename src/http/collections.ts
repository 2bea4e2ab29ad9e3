import { HASH_SIZE } from '../../store/bao/constants.js'
import { toHex } from '../../store/hash-text.js'
import { MAX_HASHSEQ_SIZE } from '../../store/hash-seq.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { CollectionIndex } from './collection-index.js'
import { OnDemand } from './on-demand.js'

/** A collection's metadata blob larger than this is not read (store/collection.ts refuses it too). */
const MAX_META_SIZE = 64 << 20
/** Names kept read across requests, in all the collections kept: a larger collection is read again each time. */
export const CACHED_NAMES = 200_000
/** How long reading one collection (its index and names, fetched if need be) may take. */
const LOAD_MS = 120_000

/** Why a collection cannot be listed: 404 (not here, not a collection) or 502 (the providers did not deliver it). */
export interface Miss { status: 404 | 502, why: string }

/**
 * The collections the gateway lists and serves files of, read through the store (and fetched from
 * `providers` when their index or names are not here: at most MAX_HASHSEQ_SIZE and MAX_META_SIZE
 * bytes), kept read for the next request (collections do not change: they are named by hash) up
 * to CACHED_NAMES names, oldest first out. Requests for one collection at once share one read; a
 * read is not stopped by the request that began it going away (it is bounded, and others may wait on it).
 */
export class Collections {
  private readonly cache = new Map<string, CollectionIndex>()
  private readonly reading = new Map<string, Promise<CollectionIndex | Miss>>()
  private cachedNames = 0

  constructor (private readonly node: VerityNode, private readonly providers: PeerTarget[], private readonly limit = CACHED_NAMES) {}

  async get (hash: Uint8Array): Promise<CollectionIndex | Miss> {
    const hex = toHex(hash)
    const cached = this.cache.get(hex)
    if (cached !== undefined) {
      this.cache.delete(hex)
      this.cache.set(hex, cached) // most recently used last
      return cached
    }
    let reading = this.reading.get(hex)
    if (reading === undefined) {
      reading = this.read(hash).finally(() => this.reading.delete(hex))
      this.reading.set(hex, reading)
    }
    const read = await reading
    if (read instanceof CollectionIndex) this.keep(hex, read)
    return read
  }

  private keep (hex: string, index: CollectionIndex): void {
    if (index.entries.length > this.limit || this.cache.has(hex)) return
    this.cache.set(hex, index)
    this.cachedNames += index.entries.length
    for (const [old, kept] of this.cache) {
      if (this.cachedNames <= this.limit) break
      this.cache.delete(old)
      this.cachedNames -= kept.entries.length
    }
  }

  private async read (hash: Uint8Array): Promise<CollectionIndex | Miss> {
    const hex = toHex(hash)
    const signal = AbortSignal.timeout(LOAD_MS)
    const root = new OnDemand(this.node.blobs, this.node.downloader, this.providers, hash, signal)
    if (!await root.size()) return { status: 404, why: `${hex} is not here${this.providers.length > 0 ? ` and no provider delivered it${root.why}` : ''}` }
    const size = (await this.node.blobs.bitfield(hash)).size
    if (size === 0 || size % HASH_SIZE !== 0 || size > MAX_HASHSEQ_SIZE) return notCollection(hex, `a blob of ${size} bytes is no collection's index`)
    if (!await root.ensure(ChunkRanges.all())) return this.short(`the index of ${hex}`, root.why)
    const first: Uint8Array[] = []
    for await (const part of this.node.blobs.reader(hash, { offset: 0, length: HASH_SIZE })) first.push(part)
    const metaHash = Buffer.concat(first)
    const meta = new OnDemand(this.node.blobs, this.node.downloader, this.providers, metaHash, signal)
    if (!await meta.size()) return notCollection(hex, `its first hash names no blob here${this.providers.length > 0 ? ' or at the providers' : ''}`)
    const metaSize = (await this.node.blobs.bitfield(metaHash)).size
    if (metaSize > MAX_META_SIZE) return notCollection(hex, `its names would be ${metaSize} bytes, over ${MAX_META_SIZE}`)
    if (!await meta.ensure(ChunkRanges.all())) return this.short(`the names of ${hex}`, meta.why)
    try {
      return new CollectionIndex(await this.node.blobs.readCollection(hash))
    } catch (err) {
      const error = err as Error
      if (error.name === 'InvalidHashSeq' || error.name === 'UnsafeName') return notCollection(hex, error.message)
      throw err
    }
  }

  /** Part of `what` is not here: 502 when the providers did not deliver it, 404 when there are none to ask. */
  private short (what: string, why: string): Miss {
    if (this.providers.length === 0) return { status: 404, why: `${what} is not all here` }
    return { status: 502, why: `${what} is not all here and the providers did not deliver it${why}` }
  }
}

function notCollection (hex: string, why: string): Miss {
  return { status: 404, why: `${hex} is not a collection: ${why}` }
}
