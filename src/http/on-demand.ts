import { RangeSpecSeq } from '../../protocol/range-spec.js'
import { isDiskError } from '../../store/disk-errors.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { coverage } from '../../store/ranges/coverage.js'
import type { Downloader } from '../downloader/downloader.js'
import type { PeerTarget } from '../net/peer.js'
import type { BlobStore } from '../../store/interface.js'

/**
 * What one HTTP request for a blob fetches from `providers` that is not here: exactly the chunks
 * it needs (the size proof, the last chunk, first; then the chunks under its bytes), so a video
 * player seeking in a large blob pulls only what it plays. `why` keeps the providers' last
 * failure for the answer; a disk error of this node's store is thrown (507), not kept.
 */
export class OnDemand {
  why = ''

  constructor (private readonly blobs: BlobStore, private readonly downloader: Downloader, private readonly providers: PeerTarget[],
    private readonly hash: Uint8Array, private readonly signal: AbortSignal) {}

  /** The size proof: whether the blob's size is known here now. */
  async size (): Promise<boolean> {
    return await this.ensure(ChunkRanges.lastChunk())
  }

  /** Whether every chunk of `ranges` is here now (fetched if need be, and providers are given). */
  async ensure (ranges: ChunkRanges): Promise<boolean> {
    if (await this.here(ranges)) return true
    if (this.providers.length === 0) return false
    const request = { hash: this.hash, ranges: RangeSpecSeq.root(ranges) }
    await this.downloader.download({ request, providers: this.providers, signal: this.signal }).result.catch((err: Error) => {
      if (isDiskError(err)) throw err // this node's disk, not the providers: answered as such (507)
      this.why = `: ${err.name}: ${err.message}`
    })
    return await this.here(ranges)
  }

  private async here (ranges: ChunkRanges): Promise<boolean> {
    const bitfield = await this.blobs.bitfield(this.hash)
    return bitfield.sizeVerified && coverage(bitfield, ranges).missing.isEmpty()
  }
}
