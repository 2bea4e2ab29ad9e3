import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { pipe } from 'it-pipe'
import type { BlobStore } from '../../store/interface.js'
import { countBytes } from '../count.js'
import { Aborted, Permission, RateLimited } from '../errors.js'
import { ResponseWriter } from '../frame.js'
import { importResponse } from '../get/import.js'
import type { Access, ByteStream, ProviderEvent, ProviderPolicy, RequestContext, RequestKind, TransferStats } from '../interface.js'
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from '../limits.js'
import { describeRequest } from '../request.js'
import { Status, statusOf, wireMessage } from '../status.js'
import { ByteBudget, JointBudget, Slots } from './admission.js'
import { encodeGet, encodeGetMany, sendObserve } from './handlers.js'
import { readRequest, type ReceivedRequest } from './read-request.js'
import { servedView, type Reading } from './scope.js'

/**
 * What serving may cost, per connection and for the whole node. A request past a limit of its own
 * is refused with RequestTooLarge; one that finds the node full waits its turn in a bounded queue,
 * and past that is refused with RateLimited. Either way the connection stays up.
 */
export interface ServeLimits extends RequestLimits {
  /**
   * Get, GetMany and Push requests served at once for one peer, over all its connections; more
   * wait. @default 16
   */
  maxRequestsPerPeer: number
  /** Get, GetMany and Push requests served at once by the node; more wait. @default 64 */
  maxRequests: number
  /** Requests waiting for a place of their peer's, and (apart) for one of the node's; more are refused with RateLimited. @default 1024 */
  maxQueuedRequests: number
  /** Observe requests open at once, node-wide; more are refused with RateLimited. @default 1024 */
  maxObservers: number
  /** Observe requests open at once for one peer; more are refused with RateLimited. @default 64 */
  maxObserversPerPeer: number
  /**
   * When the observers (the node's, or a peer's) are all taken, the one that has sent nothing for
   * longest is ended to make room, if it has been quiet this long (an observer whose requester
   * vanished without a word, which QUIC does not always tell, holds its place until then).
   * @default 60000
   */
  observerQuietMs: number
  /**
   * Bytes of requests held at once, node-wide, from their first byte until they are done (what a
   * decoded request costs: `requestWeight`); more are refused with RateLimited. @default 32 MiB
   */
  maxRequestBytesInFlight: number
  /** The same for one peer, so that one peer cannot hold the node's budget. @default 4 MiB */
  maxRequestBytesPerPeer: number
  /** Longest wait for a complete request once a stream opens. @default 30000 */
  requestTimeoutMs: number
  /**
   * Longest a response write may wait for the requester to read; then the stream is reset with
   * Timeout (applied by the transport adapter, src/net/stream.ts). @default 30000
   */
  sendTimeoutMs: number
}

export const DEFAULT_SERVE_LIMITS: Readonly<ServeLimits> = Object.freeze({
  ...DEFAULT_REQUEST_LIMITS,
  maxRequestsPerPeer: 16,
  maxRequests: 64,
  maxQueuedRequests: 1024,
  maxObservers: 1024,
  maxObserversPerPeer: 64,
  observerQuietMs: 60000,
  maxRequestBytesInFlight: 32 << 20,
  maxRequestBytesPerPeer: 4 << 20,
  requestTimeoutMs: 30000,
  sendTimeoutMs: 30000
})

export interface ProviderInit {
  store: BlobStore
  policy?: ProviderPolicy
  onEvent?: (event: ProviderEvent) => void
  /** Any of DEFAULT_SERVE_LIMITS to change. */
  limits?: Partial<ServeLimits>
  /** libp2p's `components.logger`; logs as `verity:provider`. @default defaultLogger() of @libp2p/logger */
  logger?: ComponentLogger
}

const DEFAULT_ACCESS: Record<RequestKind, Access> = { get: 'all', getMany: 'all', observe: 'all', push: 'none' }

/** An Observe being served: whose, when it last sent something, and how to end it. */
interface Observing {
  peer: string
  lastSent: number
  stop: AbortController
}

/** What one peer holds of the node: counted per peer id, over all its connections. */
interface PeerShare {
  connections: Set<string>
  /** Streams of its being served (read, waiting or answered). */
  streams: number
  slots: Slots
  observers: Slots
  budget: ByteBudget
}

/** Where a stream comes from, as the transport knows it. */
export interface StreamInfo {
  peer: string
  connectionId: string
  /** verity's framed protocol (status at the end) or plain `/iroh-bytes/4`. */
  framed: boolean
}

/**
 * Serves requests from a store. `serve` is the dispatcher: it reads one request and switches on
 * its kind; `wrap` is the wrapper that checks the policy, emits events and turns any error into a
 * status for the requester; the handlers hold the logic.
 */
export class Provider {
  readonly limits: Readonly<ServeLimits>
  private nextRequestId = 1
  /** Per peer: its open connections, its places, its observers and its share of the request budget. */
  private readonly peers = new Map<string, PeerShare>()
  private readonly policy: ProviderPolicy
  private readonly requests: Slots
  private readonly observers: Slots
  private readonly observing = new Set<Observing>()
  private readonly requestBytes: ByteBudget
  private readonly log: Logger

  constructor (private readonly init: ProviderInit) {
    this.log = (init.logger ?? defaultLogger()).forComponent('verity:provider')
    this.policy = init.policy ?? {}
    this.limits = Object.freeze({ ...DEFAULT_SERVE_LIMITS, ...init.limits })
    this.requests = new Slots('requests', this.limits.maxRequests, this.limits.maxQueuedRequests)
    this.observers = new Slots('observers', this.limits.maxObservers, this.limits.maxObservers)
    this.requestBytes = new ByteBudget('request bytes', this.limits.maxRequestBytesInFlight)
  }

  /** What is in use now: requests served and waiting, observers, request bytes being read. */
  load (): { requests: number, queued: number, observers: number, requestBytes: number } {
    // Waiting for a place of its peer's, or for one of the node's.
    let queued = this.requests.queued
    for (const peer of this.peers.values()) queued += peer.slots.queued
    return { requests: this.requests.inUse, queued, observers: this.observers.inUse, requestBytes: this.requestBytes.inUse }
  }

  /** Serve one stream. Never throws: failures end the stream with a status and an event. */
  async serve (stream: ByteStream, info: StreamInfo): Promise<void> {
    let peer = this.peers.get(info.peer)
    if (peer === undefined) {
      peer = {
        connections: new Set(),
        streams: 0,
        slots: new Slots(`requests of peer ${info.peer}`, this.limits.maxRequestsPerPeer, this.limits.maxQueuedRequests),
        observers: new Slots(`observers of peer ${info.peer}`, this.limits.maxObserversPerPeer, this.limits.maxObserversPerPeer),
        budget: new ByteBudget(`request bytes of peer ${info.peer}`, this.limits.maxRequestBytesPerPeer)
      }
      this.peers.set(info.peer, peer)
    }
    peer.streams++
    if (!peer.connections.has(info.connectionId)) {
      peer.connections.add(info.connectionId)
      this.emit({ type: 'connected', peer: info.peer, connectionId: info.connectionId })
    }
    const started = performance.now()
    let context: RequestContext | undefined
    let received: ReceivedRequest | undefined
    let observing: Observing | undefined
    const out = new ResponseWriter(stream, info.framed, async bytes => {
      if (observing !== undefined) observing.lastSent = performance.now()
      if (context === undefined) return
      await this.policy.throttleSend?.(context, bytes)
      this.emit({ type: 'progress', context, bytesSent: out.bytesSent })
    })
    const stats = (): TransferStats => ({ bytesSent: out.bytesSent, bytesRead: received?.bytesRead ?? 0, durationMs: performance.now() - started })
    const reading: Reading = {}
    const releases: Array<() => void> = []
    try {
      received = await readRequest(stream.source, {
        limits: this.limits,
        timeoutMs: this.limits.requestTimeoutMs,
        budget: new JointBudget([peer.budget, this.requestBytes]),
        signal: stream.closed
      })
      context = { peer: info.peer, connectionId: info.connectionId, requestId: this.nextRequestId++, request: received.request }
      this.emit({ type: 'requestReceived', context })
      if (context.request.type === 'observe') {
        observing = { peer: info.peer, lastSent: performance.now(), stop: new AbortController() }
        releases.push(await this.admitObserver(peer, observing, stream.closed))
      } else {
        // The peer's place first: one busy peer must not hold the node's places while it waits.
        releases.push(await peer.slots.acquire(stream.closed))
        releases.push(await this.requests.acquire(stream.closed))
      }
      await this.wrap(context, received, out, reading, observing === undefined ? stream.closed : AbortSignal.any([stream.closed, observing.stop.signal]))
      observing?.stop.signal.throwIfAborted() // ended to make room: the requester hears why
      await out.end(Status.Ok)
      this.emit({ type: 'completed', context, stats: stats() })
    } catch (err) {
      // A write that waited too long (the transport's send timeout) is a Timeout, not a departure.
      const error = stream.closed.aborted && context?.request.type !== 'observe' && (err as Error).name !== 'Timeout'
        ? new Aborted(`the requester went away: ${(err as Error).message}`)
        : err as Error
      if (stream.closed.aborted && context?.request.type === 'observe') {
        this.emit({ type: 'completed', context, stats: stats() })
        return
      }
      this.emit({ type: 'aborted', context, peer: info.peer, stats: stats(), error, ...(reading.blob === undefined ? {} : { blob: reading.blob }) })
      await this.fail(stream, out, error)
    } finally {
      for (const release of releases.reverse()) release()
      received?.release()
      peer.streams--
      this.forgetIfIdle(info.peer, peer)
    }
  }

  /** The connection is gone: forget it (a new one from the same peer is announced again). */
  connectionClosed (peerId: string, connectionId: string): void {
    const peer = this.peers.get(peerId)
    if (peer === undefined) return
    peer.connections.delete(connectionId)
    this.forgetIfIdle(peerId, peer)
  }

  /** A peer with no connection and no stream left is forgotten (its counts are all zero then). */
  private forgetIfIdle (peerId: string, peer: PeerShare): void {
    if (peer.connections.size === 0 && peer.streams === 0 && this.peers.get(peerId) === peer) this.peers.delete(peerId)
  }

  /**
   * A place among the peer's observers and the node's. Where they are all taken, the quietest
   * observer (of the peer, or of any peer) is ended to make room if it has sent nothing for
   * `observerQuietMs`, and this one waits for its place; else RateLimited.
   */
  private async admitObserver (peer: PeerShare, observer: Observing, signal: AbortSignal): Promise<() => void> {
    const peerWaits = peer.observers.inUse >= this.limits.maxObserversPerPeer && this.endQuietest(o => o.peer === observer.peer)
    const releasePeer = await peer.observers.acquire(signal, { wait: peerWaits })
    try {
      const nodeWaits = this.observers.inUse >= this.limits.maxObservers && this.endQuietest(() => true)
      const releaseNode = await this.observers.acquire(signal, { wait: nodeWaits })
      this.observing.add(observer)
      return () => { this.observing.delete(observer); releaseNode(); releasePeer() }
    } catch (err) {
      releasePeer()
      throw err
    }
  }

  /** End the observer that has sent nothing for longest, if for `observerQuietMs`; whether one was. */
  private endQuietest (which: (observer: Observing) => boolean): boolean {
    let quietest: Observing | undefined
    for (const observer of this.observing) {
      if (which(observer) && !observer.stop.signal.aborted && (quietest === undefined || observer.lastSent < quietest.lastSent)) quietest = observer
    }
    if (quietest === undefined || performance.now() - quietest.lastSent < this.limits.observerQuietMs) return false
    quietest.stop.abort(new RateLimited(`ended after ${Math.round(performance.now() - quietest.lastSent)} ms without a change, to make room for another observer`))
    return true
  }

  private async wrap (context: RequestContext, received: ReceivedRequest, out: ResponseWriter, reading: Reading, signal: AbortSignal): Promise<void> {
    const request = context.request
    if (!(await allowed(this.policy[request.type] ?? DEFAULT_ACCESS[request.type], context))) {
      throw new Permission(`${request.type} is not allowed for peer ${context.peer}`)
    }
    await this.policy.throttle?.(context)
    // What the handlers read, through the policy's scope; a push writes to the store itself.
    const store = servedView(this.init.store, this.policy.scope, reading)
    switch (request.type) {
      // Read and encode (handlers.ts), then frame and send (the ResponseWriter).
      case 'get': return pipe(encodeGet(store, request.request, signal), out.sink)
      case 'getMany': return pipe(encodeGetMany(store, request.hashes, request.ranges, signal), out.sink)
      case 'observe': return sendObserve(store, request.hash, request.ranges, out, signal)
      case 'push': {
        // The pushed data follows the request on the stream: counted, verified and stored.
        await pipe(
          received.rest,
          source => countBytes(source, n => { received.bytesRead += n }),
          async source => importResponse(this.init.store, { type: 'get', request: request.request }, source, { framed: false, signal })
        )
        return
      }
      default: {
        const unknown: never = request
        throw new TypeError(`unknown request ${JSON.stringify(unknown)}`)
      }
    }
  }

  /** Tell the requester why (framed) or reset (plain); stop reading what it still sends. */
  private async fail (stream: ByteStream, out: ResponseWriter, error: Error): Promise<void> {
    if (stream.closed.aborted) return
    try {
      await out.end(statusOf(error), wireMessage(error))
      await stream.closeRead()
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  private emit (event: ProviderEvent): void {
    this.logEvent(event)
    // A listener's failure must not break serving, nor end the process (an async listener's
    // rejection would be unhandled).
    const failed = (err: unknown): void => { this.log.error('an onEvent listener failed on %s: %e', event.type, err) }
    try {
      const result: unknown = this.init.onEvent?.(event)
      if (result instanceof Promise) result.catch(failed)
    } catch (err) {
      failed(err)
    }
  }

  /** Each request's life, one line per step (progress is left out: it comes with every write). */
  private logEvent (event: ProviderEvent): void {
    if (!this.log.enabled) return
    switch (event.type) {
      case 'connected': this.log('peer %s connected (connection %s)', event.peer, event.connectionId); break
      case 'requestReceived': this.log('#%d %s from %s', event.context.requestId, describeRequest(event.context.request), event.context.peer); break
      case 'progress': break
      case 'completed': this.log('#%d done: %d bytes sent, %d read, %d ms', event.context.requestId, event.stats.bytesSent, event.stats.bytesRead, Math.round(event.stats.durationMs)); break
      case 'aborted':
        if (event.context === undefined) this.log('a stream from %s ended before its request was read: %s: %s', event.peer, event.error.name, event.error.message)
        else this.log('#%d failed after %d bytes sent: %s: %s', event.context.requestId, event.stats.bytesSent, event.error.name, event.error.message)
        break
      default: {
        const unknown: never = event
        throw new TypeError(`unknown event ${JSON.stringify(unknown)}`)
      }
    }
  }
}

async function allowed (access: Access, context: RequestContext): Promise<boolean> {
  if (access === 'all') return true
  if (access === 'none') return false
  if (typeof access === 'function') return await access(context)
  return access.peers.includes(context.peer)
}
