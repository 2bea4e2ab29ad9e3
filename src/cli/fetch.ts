import type { CollectionEntry } from '../../store/interface.js'
import { toHex } from '../../store/hash-text.js'
import { DownloadFailed } from '../downloader/errors.js'
import type { DownloadProgress, Providers, Strategy } from '../downloader/interface.js'
import type { FoundProvider } from '../discovery/interface.js'
import type { PeerTarget } from '../net/peer.js'
import type { VerityNode } from '../node/create-node.js'
import { toRequest } from '../remote.js'
import { size, type Output, type Target } from './common.js'
import { FetchReport, peersOf, whereOf } from './fetch-report.js'
import { frame, ProgressTracker, REDRAW_MS } from './progress.js'

/** How long the progress line waits for the total before it is drawn without one. */
const UNSIZED_FRAME_MS = 2000

/** A fetch with --timeout that did not finish in time: what it fetched, and whom it tried where. */
export class FetchTimeout extends Error {
  static override name = 'FetchTimeout'
  constructor (readonly timeoutMs: number, readonly tried: string, readonly fetched: number, message =
  `did not finish within ${timeoutMs} ms (--timeout): ${fetched === 0 ? 'nothing fetched' : `${size(fetched)} fetched and kept`}; tried ${tried}; ` +
    'check that the sender is running and reachable from here, or give a longer --timeout') {
    super(message)
    this.name = 'FetchTimeout'
  }
}

export interface FetchOptions {
  strategy: Strategy
  signal: AbortSignal
  /** Bytes `offset..offset+length` only, of a raw blob. */
  range?: { offset: number, length: number }
  /** The whole fetch's deadline, connecting included. */
  timeoutMs?: number
  /** What the progress line calls a single blob (the file it goes to); a collection's files are named by it. */
  name?: string
  /** Providers found as the fetch goes (a DHT lookup, ended when the fetch ends), after `what.providers`. */
  discover?: (signal: AbortSignal) => AsyncIterable<FoundProvider>
}

/**
 * Download what is not here yet of `what`, saying whom it connects to (and each retry), drawing
 * progress; says so and skips the network when nothing is missing. Returns the providers
 * `discover` found (a collection probe asks them too).
 */
export async function fetchInto (node: VerityNode, what: Target, out: Output, options: FetchOptions): Promise<FoundProvider[]> {
  const { range, signal, strategy, timeoutMs } = options
  const content = { hash: what.hash, format: what.format }
  const local = await node.remote.local(content, range === undefined ? {} : { range })
  if (local.missing() === undefined) {
    out.say(`${toHex(what.hash)}${range === undefined ? '' : ` bytes ${range.offset}..${range.offset + range.length}`} ${local.localBytes === 0 ? 'is empty' : 'is already here'} (${size(local.localBytes)}); nothing to fetch`)
    out.event({ type: 'local', hash: toHex(what.hash), bytes: local.localBytes })
    return []
  }
  if (what.providers.length === 0 && options.discover === undefined) throw new Error(`${toHex(what.hash)} is not here and no provider was given (a ticket names one; or --provider, or --dht)`)
  const report = new FetchReport(out)
  const peers = peersOf(what.providers)
  for (const peer of peers) report.connecting(peer)
  const found: FoundProvider[] = []
  const tried = (): string => [...peers, ...found.map(f => ({ id: f.peerId, addrs: f.addrs.map(String) }))]
    .map(peer => `${peer.id} at ${peer.addrs.length === 0 ? 'the addresses this node knows' : whereOf(peer)}`).join('; ') || 'no provider (the DHT lookup found none)'
  const lookup = new AbortController()
  const providers: Providers = options.discover === undefined ? what.providers : withFound(what.providers, options.discover(AbortSignal.any([signal, lookup.signal])), found)
  const started = performance.now()
  const progress = new ProgressTracker(local.localBytes, local.total)
  const names = what.format === 'hashseq' ? new FileNames(node, what.hash) : undefined
  progress.named(options.name)
  let shownAt = 0
  // A frame without the total says little; the first ones wait for it (a collection's sizes are
  // proven once its HashSeq is here), unless it takes longer than that while bytes arrive.
  // What this process's connections brought since the fetch began: the rate's bytes.
  const receivedBefore = node.pool.stats().bytesReceived
  const draw = (): void => {
    progress.arrived(node.pool.stats().bytesReceived - receivedBefore)
    const state = progress.state()
    const sized = state.total !== undefined
    // Nothing has come yet (still connecting): the connecting line stands, not a frame of zeros.
    if (sized || (performance.now() - started >= UNSIZED_FRAME_MS && node.pool.stats().bytesReceived > receivedBefore)) out.drawFrame(frame(state, out.verbose))
  }
  const show = (last = false): void => {
    const state = progress.state()
    draw()
    const now = performance.now()
    if (last || now - shownAt >= REDRAW_MS) {
      shownAt = now
      out.event({ type: 'progress', ...state })
    }
  }
  let redraw: NodeJS.Timeout | undefined
  const handle = node.downloader.download({
    request: range === undefined ? content : toRequest(content, range),
    providers,
    strategy,
    signal,
    ...(timeoutMs === undefined ? {} : { timeoutMs })
  })
  try {
    for await (const item of handle) {
      if (names !== undefined) progress.named(await names.follow(item) ?? options.name)
      if (item.type === 'download:progress') {
        progress.present(item.detail.bytes, item.detail.total)
        progress.receivedFrom(item.detail.received ?? {})
        // Drawn from the first item on, and again every REDRAW_MS, moving or not.
        if (redraw === undefined && out.drawing) redraw = setInterval(draw, REDRAW_MS).unref()
        show()
      } else if (item.type === 'download:provider-failed') {
        report.failed(item.detail)
      }
    }
    const result = await handle
    clearInterval(redraw)
    show(true)
    out.clear()
    const seconds = (performance.now() - started) / 1000
    const fetched = result.bytes - result.localBytes
    out.say(`fetched ${size(fetched)} in ${seconds.toFixed(1)} s${result.localBytes > 0 ? ` (${size(result.localBytes)} were already here)` : ''}, verified`)
    out.event({ type: 'fetched', hash: toHex(what.hash), bytes: result.bytes, localBytes: result.localBytes, bytesReceived: result.bytesReceived, providers: result.providers })
    return found
  } catch (err) {
    out.clear()
    if (signal.aborted) throw err
    const fetched = progress.state().bytes - local.localBytes
    if ((err as Error).name === 'Timeout' && timeoutMs !== undefined) throw new FetchTimeout(timeoutMs, tried(), fetched)
    if (err instanceof DownloadFailed) throw report.downloadFailed(err, toHex(what.hash), tried())
    throw err
  } finally {
    clearInterval(redraw)
    lookup.abort() // the fetch is over: so is the lookup feeding it
  }
}

/** The providers named, then those `source` finds (each kept in `found`). */
async function * withFound (named: PeerTarget[], source: AsyncIterable<FoundProvider>, found: FoundProvider[]): AsyncGenerator<PeerTarget> {
  yield * named
  for await (const provider of source) {
    found.push(provider)
    yield provider
  }
}

/**
 * The files of a collection being fetched, by hash, once its names are here (its HashSeq and
 * metadata arrive first); `follow` returns the name of the file in flight, with how many others are.
 */
class FileNames {
  private byHash: Map<string, string> | undefined
  private readonly inFlight: string[] = []
  private readAt = -Infinity
  private last: string | undefined

  constructor (private readonly node: VerityNode, private readonly hash: Uint8Array) {}

  async follow (item: DownloadProgress): Promise<string | undefined> {
    if (item.type === 'download:try-provider') {
      for (const hex of hashesOf(item.detail.part)) this.inFlight.push(hex)
    } else if (item.type === 'download:part-complete' || item.type === 'download:provider-failed') {
      for (const hex of hashesOf(item.detail.part)) {
        const at = this.inFlight.indexOf(hex)
        if (at !== -1) this.inFlight.splice(at, 1)
      }
    }
    // Read again at most every REDRAW_MS until the names are here.
    if (this.byHash === undefined && performance.now() - this.readAt >= REDRAW_MS) {
      this.readAt = performance.now()
      this.byHash = await this.names()
    }
    const files = this.inFlight.map(hex => this.byHash?.get(hex)).filter(name => name !== undefined)
    // Between two requests nothing is in flight: the file last named still is the one being written.
    if (files.length > 0) this.last = files.length === 1 ? files[0] : `${files[0] as string} (+${files.length - 1})`
    return this.last
  }

  /** The collection's names, or undefined while its HashSeq or metadata is not all here. */
  private async names (): Promise<Map<string, string> | undefined> {
    let entries: CollectionEntry[]
    try {
      entries = await this.node.blobs.readCollection(this.hash)
    } catch {
      return undefined
    }
    return new Map(entries.map(entry => [toHex(entry.hash), entry.name]))
  }
}

/** The blobs a progress item's part names (`hash:ranges`, comma separated; the ranges hold commas too). */
const hashesOf = (part: string): string[] => part.match(/\b[0-9a-f]{64}\b/g) ?? []
