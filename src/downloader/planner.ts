import { Timeout } from '../../protocol/errors.js'
import { DEFAULT_REQUEST_LIMITS } from '../../protocol/limits.js'
import { CHUNK_SIZE, GROUP_SIZE } from '../../store/bao/constants.js'
import { ChunkRanges, MAX_CHUNK } from '../../store/ranges/chunk-ranges.js'
import type { Strategy } from './interface.js'
import type { ProviderState, RunningView, Unit, Want } from './state.js'

/**
 * The planner: which request each provider gets next, whether it has room for one, and which
 * request under way should give its ranges up. Pure: it reads the download's state and, when it
 * hands out work, marks it in flight (`want.inflight`); no I/O, no timers (the loop in job.ts
 * runs it). Tested alone in test/src/downloader/planner.test.ts.
 */

const GROUP_CHUNKS = GROUP_SIZE / CHUNK_SIZE
/** A provider's next stripe is asked for once this share of its current one has arrived. */
export const PIPELINE_AT = 0.75
/** A running request this many times slower than a waiting provider gives its ranges up. */
const CRAWL_RATIO = 10
/** What a provider not measured yet is taken to manage (so a request below 100 KiB/s makes way for it). */
const UNTRIED_RATE = 1 << 20
/** Blobs in one request at most: what a provider accepts in a GetMany (hashes, and entries with the terminator). */
const MAX_BLOBS = Math.min(DEFAULT_REQUEST_LIMITS.maxHashes, DEFAULT_REQUEST_LIMITS.maxSeqEntries - 1)

export interface PlanOptions {
  strategy: Strategy
  /** Smallest stripe of one blob given to one provider. */
  minStripeBytes: number
  /** Largest stripe. */
  maxStripeBytes: number
  /** Requests in flight per provider (split). */
  perProvider: number
  /** Small blobs asked for in one request. */
  batchBlobs: number
  /** Silence (or a crawl) this long, while another provider waits, gives a request's ranges up. */
  stallMs: number
}

/**
 * The next piece of work for `provider`, or undefined; with `peek`, nothing is marked in flight.
 * `split`: one stripe of a large blob (sized by the provider's rate and its share of what is
 * left), or a batch of small blobs; a blob of unknown size is asked for once, with its last chunk
 * (which proves the size). `none`: everything still missing. Always within what a provider
 * accepts (protocol/limits.ts): a fragmented blob is asked for in parts.
 */
export function take (wants: Want[], provider: ProviderState, providers: Iterable<ProviderState>, options: PlanOptions, peek = false): Unit | undefined {
  const unit: Unit = []
  let rangesLeft = DEFAULT_REQUEST_LIMITS.maxRanges
  for (const want of wants) {
    if (rangesLeft < 2) break
    let free = want.missing.difference(want.inflight)
    const lacks = provider.lacks.get(want.hex)
    if (lacks !== undefined) free = free.difference(lacks)
    if (free.isEmpty()) continue
    // One range kept spare for the size proof (the last chunk) added below.
    free = free.head(Math.min(DEFAULT_REQUEST_LIMITS.maxRangesPerSpec, rangesLeft) - 1)
    rangesLeft -= free.rangeCount + 1
    if (options.strategy === 'none') {
      unit.push({ want, ranges: free })
      // Everything missing, but in GetManys a provider accepts (a collection of 5,000 files: two).
      if (unit.length >= MAX_BLOBS) break
      continue
    }
    if (want.size === undefined) {
      // Size unknown: one request learns it (the last chunk proves it) with the first stripe.
      if (!want.inflight.isEmpty()) continue
      if (wants.length === 1) {
        unit.push({ want, ranges: carve(free, stripeChunks(provider, providers, options)).union(ChunkRanges.lastChunk()) })
        break
      }
      unit.push({ want, ranges: free })
    } else if (free.countUpTo(Infinity) * CHUNK_SIZE > options.minStripeBytes) {
      if (unit.length > 0) break
      unit.push({ want, ranges: carve(free, stripeChunks(provider, providers, options, free.countUpTo(Infinity))) })
      break
    } else {
      unit.push({ want, ranges: free })
    }
    if (unit.length >= options.batchBlobs) break
  }
  if (unit.length === 0) return undefined
  if (!peek) for (const { want, ranges } of unit) want.inflight = want.inflight.union(ranges)
  return unit
}

/** A request ended: its ranges are no longer in flight (what it did not bring is free again). */
export function release (unit: Unit): void {
  for (const { want, ranges } of unit) want.inflight = want.inflight.difference(ranges)
}

/**
 * Room for another request: under the provider's limit, and (striping) each of its requests
 * nearly done, so the next stripe overlaps only the tail of the last one. Each provider then
 * streams into about one import at a time, with no gap between its stripes.
 */
export function hasRoom (provider: ProviderState, running: Iterable<RunningView>, options: PlanOptions): boolean {
  const limit = options.strategy === 'none' ? 1 : options.perProvider
  let active = 0
  for (const request of running) {
    if (request.provider !== provider) continue
    if (++active >= limit) return false
    if (request.expected !== undefined && request.received < request.expected * PIPELINE_AT) return false
  }
  return true
}

/**
 * Providers with room and nothing left to take wait for the requests under way. Each request
 * that has sent nothing for `stallMs` (a dead peer, a stuck dial), or that sent over the last
 * `stallMs` less than a tenth of what a waiting provider has shown it can (1 MiB/s assumed for
 * one not measured yet: a provider dripping bytes), and whose ranges a waiting provider could
 * take, is returned with the Timeout to stop it with: its ranges then go to a waiting provider
 * now rather than after the idle timeout or the minimum-rate window. `waiting` is whether any
 * provider waits so (the loop then looks again within `stallMs / 2`).
 */
export function stalled (now: number, wants: Want[], providers: Iterable<ProviderState>, running: Iterable<RunningView>, options: PlanOptions):
{ waiting: boolean, stop: Array<{ request: RunningView, reason: Timeout }> } {
  const stop: Array<{ request: RunningView, reason: Timeout }> = []
  if (options.strategy === 'none') return { waiting: false, stop }
  const all = [...providers]
  const requests = [...running]
  const waiting = all.filter(p => !p.dropped && p.readyAt <= now && hasRoom(p, requests, options) && take(wants, p, all, options, true) === undefined)
  if (waiting.length === 0) return { waiting: false, stop }
  for (const request of requests) {
    const others = waiting.filter(p => p !== request.provider)
    if (others.length === 0) continue
    const quiet = now - request.lastData
    const recent = request.rateOver(options.stallMs)
    const best = Math.max(...others.map(p => p.rate ?? UNTRIED_RATE))
    const crawling = recent !== undefined && recent * CRAWL_RATIO < best
    if (quiet < options.stallMs && !crawling) continue
    const helped = others.some(p => request.unit.some(({ want, ranges }) => {
      const lacks = p.lacks.get(want.hex)
      return !ranges.intersection(want.missing).difference(lacks ?? ChunkRanges.empty()).isEmpty()
    }))
    if (!helped) continue
    stop.push({
      request,
      reason: new Timeout(quiet >= options.stallMs
        ? `no data from ${request.provider.id} for ${quiet} ms while other providers waited`
        : `${request.provider.id} sent ${Math.round(recent ?? 0)} B/s over the last ${options.stallMs} ms while a provider of ${Math.round(best)} B/s waited`)
    })
  }
  return { waiting: true, stop }
}

/**
 * A faster provider takes a longer stripe (about half a second at its measured rate), but no
 * more than its share of what is left, so every provider gets some.
 */
export function stripeChunks (provider: ProviderState, providers: Iterable<ProviderState>, options: PlanOptions, free = Infinity): number {
  let usable = 0
  for (const p of providers) if (!p.dropped) usable++
  const share = free * CHUNK_SIZE / Math.max(1, usable)
  const bytes = Math.min(options.maxStripeBytes, share, Math.max(options.minStripeBytes, (provider.rate ?? 0) / 2))
  const chunks = Math.max(GROUP_CHUNKS, Math.floor(bytes / GROUP_SIZE) * GROUP_CHUNKS)
  // Rounding down to whole groups must not leave a sliver for a request of its own.
  return free - chunks < GROUP_CHUNKS ? free : chunks
}

/** The first `chunks` chunks of `ranges`, cut at a group boundary. */
export function carve (ranges: ChunkRanges, chunks: number): ChunkRanges {
  let carved = ChunkRanges.empty()
  let left = chunks
  for (const [start, end] of ranges.ranges()) {
    if (left <= 0) break
    // "The last chunk, whatever the size" (a size proof asked for alone) is one piece as it is.
    if (start >= MAX_CHUNK) return carved.union(ChunkRanges.lastChunk())
    const cut = Math.min(end, Math.ceil((start + left) / GROUP_CHUNKS) * GROUP_CHUNKS)
    carved = carved.union(ChunkRanges.range(start, cut))
    left -= cut - start
  }
  return carved
}
