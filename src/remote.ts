import type { ProgressEvent } from 'progress-events'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { IROH_PROTOCOL, VERITY_PROTOCOL } from '../protocol/constants.js'
import { runToStore, type ImportStats } from '../protocol/get/import.js'
import { AtInitial, type FetchRequest, type OpenStream } from '../protocol/get/machine.js'
import type { ByteStream } from '../protocol/interface.js'
import { observeFrom } from '../protocol/observe.js'
import { pushTo, type PushStats } from '../protocol/push.js'
import { RangeSpecSeq } from '../protocol/range-spec.js'
import { describeRequest, type GetRequest, type ObserveItem, type Request } from '../protocol/request.js'
import { hashArg } from '../store/bao/validate.js'
import { HashSeqReader } from '../store/hash-seq.js'
import type { Bitfield, BlobStore, HashAndFormat } from '../store/interface.js'
import { ChunkRanges } from '../store/ranges/chunk-ranges.js'
import { bytesOf, coverage } from '../store/ranges/coverage.js'
import { resolvePeer, ticketOf, type PeerTarget } from './net/peer.js'
import { relayLimitCause } from './net/relay-limit.js'
import type { ConnectionPool } from './net/pool.js'
import { TransferWatch, type MinRate } from './net/transfer-watch.js'
import { DEFAULT_REQUEST_LIMITS } from '../protocol/limits.js'

/** What to fetch: a raw blob by hash, a hash with its format, or an explicit request. */
export type Content = Uint8Array | HashAndFormat | GetRequest

/**
 * What a fetch reports, in js-libp2p's progress event shape (`{ type, detail }`). `fetch:local`
 * first: what the store already holds and the request for the rest, with `total` (bytes of all
 * that was asked) when every size is known here. Then `fetch:progress` as bytes arrive: `bytesRead`
 * from the network so far, and `total`, the bytes still missing when the fetch began, when known
 * (`bytesRead` also counts the hash pairs, about 0.4% more, so it can pass `total` slightly).
 */
export type FetchProgress =
  | ProgressEvent<'fetch:local', { localBytes: number, total?: number, missing: GetRequest | undefined }>
  | ProgressEvent<'fetch:progress', { bytesRead: number, total?: number }>

export interface FetchOptions {
  signal?: AbortSignal
  onProgress?: (event: FetchProgress) => void
  /** Only these bytes of a raw blob (the chunks covering them are fetched). */
  range?: { offset: number, length: number }
  /** A request that receives nothing for this long fails with Timeout. @default 15000 */
  idleTimeoutMs?: number
  /**
   * A request that moves less than this over a whole window fails with TooSlow; `false` for no
   * minimum. @default DEFAULT_MIN_RATE (4 KiB/s over 20 s)
   */
  minRate?: MinRate | false
  /** The whole call must end within this, or it fails with Timeout. Undefined: no deadline. */
  timeoutMs?: number
}

/** What a request gets to idle before it fails, unless the caller says otherwise. */
const IDLE_TIMEOUT_MS = 15000

export interface FetchResult extends ImportStats {
  /** Verified bytes already here before the fetch. */
  localBytes: number
  /** Whether everything asked for is now here. */
  complete: boolean
}

export interface LocalInfo {
  /** Bitfields of the root and of each child known here (hex hash -> bitfield). */
  bitfields: Map<string, Bitfield>
  /** Verified bytes present of what was asked. */
  localBytes: number
  /** Bytes of all that was asked, when the size of every blob in it is known here. */
  total: number | undefined
  /**
   * A request for what is missing, or undefined when nothing is. It stays within what a provider
   * accepts (protocol/limits.ts): when what is missing is more fragmented than that, it asks for
   * the first part, and `truncated` says more is missing than it asks for.
   */
  missing: () => GetRequest | undefined
  truncated: boolean
}

/** Requests to other nodes: fetch what is missing, observe, push; through the shared pool. */
export class Remote {
  private readonly log: Logger
  private nextRequest = 1

  /** `logger`: libp2p's `components.logger` (the node's); logs as `verity:remote`. */
  constructor (private readonly store: BlobStore, private readonly pool: ConnectionPool, logger: ComponentLogger = defaultLogger()) {
    this.log = logger.forComponent('verity:remote')
  }

  /** What the local store has of `content`. */
  async local (content: Content, options: Pick<FetchOptions, 'range'> = {}): Promise<LocalInfo> {
    const request = toRequest(content, options.range)
    const bitfields = new Map<string, Bitfield>()
    const root = await this.store.bitfield(request.hash)
    bitfields.set(hex(request.hash), root)
    const wanted: ChunkRanges[] = []
    let localBytes = 0
    let total: number | undefined = 0
    const account = (bitfield: Bitfield, ranges: ChunkRanges): ChunkRanges => {
      const held = coverage(bitfield, ranges)
      localBytes += held.bytes
      total = held.size === undefined || total === undefined ? undefined : total + bytesOf(held.asked, held.size)
      return held.missing
    }
    wanted.push(account(root, request.ranges.at(0)))
    const childrenWanted = request.ranges.end() > 1
    let childrenKnown = true
    if (childrenWanted) {
      if ((await this.store.status(request.hash)).status === 'complete') {
        const children = await HashSeqReader.open(this.store, request.hash)
        for (let i = 0; i < children.count && i + 1 < request.ranges.end(); i++) {
          const child = await children.get(i) as Uint8Array
          const bitfield = await this.store.bitfield(child)
          bitfields.set(hex(child), bitfield)
          wanted.push(account(bitfield, request.ranges.at(i + 1)))
        }
      } else {
        childrenKnown = false
        total = undefined
      }
    }
    const limited = withinLimits(wanted)
    const missing = (): GetRequest | undefined => {
      if (!childrenKnown) return request // the root is not here yet: ask for all of it
      if (wanted.every(r => r.isEmpty())) return undefined
      return { hash: request.hash, ranges: RangeSpecSeq.fromRanges(limited.ranges) }
    }
    return { bitfields, localBytes, total, missing, truncated: childrenKnown && limited.truncated }
  }

  /**
   * Fetch `content` from `peer`: check the store first, then ask only for what is missing, and
   * store what verifies. Aborting keeps every verified byte, so the next fetch resumes. `peer`
   * may be any PeerTarget; when it is a ticket (parsed or as text), `content` defaults to the
   * ticket's hash and format. A peer that is none gives InvalidPeer (or InvalidTicket).
   */
  async fetch (peer: PeerTarget, content?: Content, options: FetchOptions = {}): Promise<FetchResult> {
    const ticket = content === undefined ? ticketOf(peer) : undefined
    const what = content ?? (ticket === undefined ? undefined : { hash: ticket.hash, format: ticket.format })
    if (what === undefined) throw new TypeError('content is required unless the peer is a ticket')
    const deadline = options.timeoutMs === undefined ? undefined : new TransferWatch({ minRate: false, deadlineMs: options.timeoutMs })
    const signals = [options.signal, deadline?.signal].filter(s => s !== undefined)
    // Each request runs under the call's deadline (the signal), not a deadline of its own.
    const { timeoutMs: _deadline, ...rest } = options
    const each: FetchOptions = { ...rest, ...(signals.length === 0 ? {} : { signal: AbortSignal.any(signals) }) }
    try {
      const before = await this.local(what, options)
      let missing = before.missing()
      const onProgress = options.onProgress
      if (onProgress !== undefined) {
        const total = before.total === undefined ? {} : { total: before.total }
        onProgress({ type: 'fetch:local', detail: { localBytes: before.localBytes, ...total, missing } })
        // Each request counts from 0: carry the rounds before it, and give the total to bring.
        const toBring = before.total === undefined ? {} : { total: before.total - before.localBytes }
        each.onProgress = event => {
          if (event.type === 'fetch:progress') onProgress({ type: 'fetch:progress', detail: { bytesRead: stats.bytesRead + event.detail.bytesRead, ...toBring } })
        }
      }
      const stats = { bytesRead: 0, bytesWritten: 0, elapsedMs: 0, localBytes: before.localBytes, complete: true }
      let truncated = before.truncated
      // More fragmented than one request may ask: one request after another, while each brings something.
      while (missing !== undefined) {
        const round = await this.executeGet(peer, missing, each)
        stats.bytesRead += round.bytesRead
        stats.bytesWritten += round.bytesWritten
        stats.elapsedMs += round.elapsedMs
        const after = await this.local(what, options)
        missing = after.missing()
        stats.complete = missing === undefined
        if (!truncated || round.bytesWritten === 0) break
        truncated = after.truncated
      }
      return stats
    } catch (err) {
      throw deadline?.signal.aborted === true ? deadline.signal.reason : err
    } finally {
      deadline?.stop()
    }
  }

  /** Send a Get as it is and store what verifies. */
  async executeGet (peer: PeerTarget, request: GetRequest, options: FetchOptions = {}): Promise<ImportStats> {
    return this.run(peer, { type: 'get', request }, options)
  }

  /** GetMany: entry i of `ranges` applies to hashes[i] (no HashSeq involved). */
  async executeGetMany (peer: PeerTarget, hashes: Uint8Array[], ranges: RangeSpecSeq = RangeSpecSeq.fromRangesInfinite([ChunkRanges.all()]),
    options: FetchOptions = {}): Promise<ImportStats> {
    return this.run(peer, { type: 'getMany', hashes: hashes.map(h => hashArg('hash', h)), ranges }, options)
  }

  /** The peer's bitfield of `hash`, whole, now and after each change. */
  async * observe (peer: PeerTarget, hash: Uint8Array, ranges: ChunkRanges = ChunkRanges.all(), options: { signal?: AbortSignal } = {}): AsyncGenerator<ObserveItem> {
    let failure: Error | undefined
    const opened: Opened = {}
    const id = this.logStart(peer, { type: 'observe', hash: hashArg('hash', hash), ranges })
    try {
      yield * observeFrom(this.opener(peer, opened), hash, ranges, options)
    } catch (err) {
      failure = err as Error
      throw err
    } finally {
      this.logEnd(id, failure)
      opened.release?.(failure)
    }
  }

  /** Push `request` from our store to `peer` (its policy must allow it). */
  async push (peer: PeerTarget, request: GetRequest, options: { signal?: AbortSignal } = {}): Promise<PushStats> {
    const opened: Opened = {}
    const id = this.logStart(peer, { type: 'push', request })
    try {
      const stats = await pushTo(this.opener(peer, opened), this.store, request, options)
      this.logEnd(id, undefined, `${stats.bytesSent} bytes sent`)
      opened.release?.()
      return stats
    } catch (err) {
      this.logEnd(id, err as Error)
      opened.release?.(err as Error)
      throw err
    }
  }

  /**
   * One request, watched: idle too long, below the minimum rate or past the deadline, it fails
   * with Timeout or TooSlow (the verified part is kept).
   */
  private async run (peer: PeerTarget, request: FetchRequest, options: FetchOptions): Promise<ImportStats> {
    const opened: Opened = {}
    const watch = new TransferWatch({
      idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
      ...(options.minRate === undefined ? {} : { minRate: options.minRate }),
      ...(options.timeoutMs === undefined ? {} : { deadlineMs: options.timeoutMs })
    })
    const signal = options.signal === undefined ? watch.signal : AbortSignal.any([options.signal, watch.signal])
    const id = this.logStart(peer, request)
    try {
      const onProgress = options.onProgress
      const connected = await new AtInitial(this.opener(peer, opened), request, {
        signal,
        onBytes: (bytesRead: number) => {
          watch.progress(bytesRead)
          onProgress?.({ type: 'fetch:progress', detail: { bytesRead } })
        }
      }).next()
      const stats = await runToStore(this.store, connected)
      this.logEnd(id, undefined, `${stats.bytesRead} bytes read, ${stats.bytesWritten} written, ${Math.round(stats.elapsedMs)} ms`)
      opened.release?.()
      return stats
    } catch (caught) {
      // A relay cutting the connection at its limit is said as such, not as the stream's failure it caused.
      const err = watch.signal.aborted ? watch.signal.reason as Error : relayLimitCause(caught) ?? caught as Error
      this.logEnd(id, err)
      // Stop the provider sending what nobody reads any more.
      opened.stream?.abort(err)
      opened.release?.(err)
      throw err
    } finally {
      watch.stop()
    }
  }

  /** Logs a request to `peer`; returns its number in this Remote's log lines. */
  private logStart (peer: PeerTarget, request: Request): number {
    const id = this.nextRequest++
    if (this.log.enabled) this.log('#%d %s to %s', id, describeRequest(request), resolvePeer(peer).id)
    return id
  }

  private logEnd (id: number, error: Error | undefined, outcome = 'ended'): void {
    if (error === undefined) this.log('#%d done: %s', id, outcome)
    else this.log('#%d failed: %s: %s', id, error.name, error.message)
  }

  /** Streams from the pool, offering verity's framed protocol first, then plain iroh. */
  private opener (peer: PeerTarget, opened: Opened): OpenStream {
    return async signal => {
      const pooled = await this.pool.open(peer, [VERITY_PROTOCOL, IROH_PROTOCOL], signal === undefined ? {} : { signal })
      opened.release = pooled.release
      opened.stream = pooled.stream
      return { stream: pooled.stream, framed: pooled.protocol === VERITY_PROTOCOL }
    }
  }
}

/** The stream a request opened, once it is open, and how to give it back to the pool. */
interface Opened {
  release?: (error?: Error) => void
  stream?: ByteStream
}

/** The Get request `content` stands for (a raw blob's byte range becomes its covering chunks). */
export function toRequest (content: Content, range?: { offset: number, length: number }): GetRequest {
  if (content instanceof Uint8Array) content = { hash: content, format: 'raw' }
  if ('ranges' in content) return { hash: hashArg('hash', content.hash), ranges: content.ranges }
  const hash = hashArg('hash', content.hash)
  const ranges = range === undefined ? ChunkRanges.all() : ChunkRanges.fromByteRange(range.offset, range.offset + range.length)
  if (content.format === 'hashseq') {
    if (range !== undefined) throw new TypeError('a byte range applies to a raw blob only')
    return { hash, ranges: RangeSpecSeq.all() }
  }
  return { hash, ranges: RangeSpecSeq.root(ranges) }
}

function hex (hash: Uint8Array): string {
  return Buffer.from(hash).toString('hex')
}

/**
 * The first part of a request's per-blob ranges that fits a provider's limits
 * (DEFAULT_REQUEST_LIMITS): each blob's ranges cut to the per-spec limit, blobs taken while the
 * ranges in all and the RangeSpecSeq's entries allow (counted as `RangeSpecSeq.fromRanges`
 * makes them: a run of equal ranges, complete children among them, is one entry).
 * `truncated` when something was left out.
 */
export function withinLimits (wanted: ChunkRanges[]): { ranges: ChunkRanges[], truncated: boolean } {
  const limits = DEFAULT_REQUEST_LIMITS
  const ranges: ChunkRanges[] = []
  let left = limits.maxRanges
  let entries = 0
  let previous = ChunkRanges.empty()
  for (const [i, r] of wanted.entries()) {
    const cut = r.head(Math.min(limits.maxRangesPerSpec, left))
    const entry = !cut.equals(previous)
    // Room for this entry and the empty one that ends the sequence; and some ranges left for it.
    if ((entry && entries + 2 > limits.maxSeqEntries) || (cut.isEmpty() && !r.isEmpty())) {
      return { ranges, truncated: wanted.slice(i).some(w => !w.isEmpty()) }
    }
    if (entry) entries++
    left -= cut.rangeCount
    ranges.push(cut)
    previous = cut
    if (cut !== r) return { ranges, truncated: true }
  }
  return { ranges, truncated: false }
}
