import type { BlobStore } from '../../store/interface.js'
import { countBytes } from '../count.js'
import { Aborted, Permission } from '../errors.js'
import { ResponseWriter } from '../frame.js'
import { importResponse } from '../get/import.js'
import type { Access, ByteStream, ProviderEvent, ProviderPolicy, RequestContext, RequestKind, TransferStats } from '../interface.js'
import { MAX_REQUEST_SIZE } from '../request.js'
import { Status, statusOf } from '../status.js'
import { sendGet, sendGetMany, sendObserve } from './handlers.js'
import { readRequest, type ReceivedRequest } from './read-request.js'

export interface ProviderInit {
  store: BlobStore
  policy?: ProviderPolicy
  onEvent?: (event: ProviderEvent) => void
  /** @default MAX_REQUEST_SIZE (1 MiB) */
  maxRequestSize?: number
  /** Longest wait for a complete request once a stream opens. @default 30000 */
  requestTimeoutMs?: number
}

const DEFAULT_ACCESS: Record<RequestKind, Access> = { get: 'all', getMany: 'all', observe: 'all', push: 'none' }

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
  private nextRequestId = 1
  private readonly connections = new Set<string>()
  private readonly policy: ProviderPolicy

  constructor (private readonly init: ProviderInit) {
    this.policy = init.policy ?? {}
  }

  /** Serve one stream. Never throws: failures end the stream with a status and an event. */
  async serve (stream: ByteStream, info: StreamInfo): Promise<void> {
    if (!this.connections.has(info.connectionId)) {
      this.connections.add(info.connectionId)
      this.emit({ type: 'connected', peer: info.peer, connectionId: info.connectionId })
    }
    const started = performance.now()
    let context: RequestContext | undefined
    let received: ReceivedRequest | undefined
    const out = new ResponseWriter(stream, info.framed, async bytes => {
      if (context === undefined) return
      await this.policy.throttleSend?.(context, bytes)
      this.emit({ type: 'progress', context, bytesSent: out.bytesSent })
    })
    const stats = (): TransferStats => ({ bytesSent: out.bytesSent, bytesRead: received?.bytesRead ?? 0, durationMs: performance.now() - started })
    try {
      received = await readRequest(stream.source, {
        maxSize: this.init.maxRequestSize ?? MAX_REQUEST_SIZE,
        timeoutMs: this.init.requestTimeoutMs ?? 30000,
        signal: stream.closed
      })
      context = { peer: info.peer, connectionId: info.connectionId, requestId: this.nextRequestId++, request: received.request }
      this.emit({ type: 'requestReceived', context })
      await this.wrap(context, received, out, stream)
      await out.end(Status.Ok)
      this.emit({ type: 'completed', context, stats: stats() })
    } catch (err) {
      const error = stream.closed.aborted && context?.request.type !== 'observe'
        ? new Aborted(`the requester went away: ${(err as Error).message}`)
        : err as Error
      if (stream.closed.aborted && context?.request.type === 'observe') {
        this.emit({ type: 'completed', context, stats: stats() })
        return
      }
      this.emit({ type: 'aborted', context, peer: info.peer, stats: stats(), error })
      await this.fail(stream, out, error)
    }
  }

  /** The connection is gone: forget it (a new one from the same peer is announced again). */
  connectionClosed (connectionId: string): void {
    this.connections.delete(connectionId)
  }

  private async wrap (context: RequestContext, received: ReceivedRequest, out: ResponseWriter, stream: ByteStream): Promise<void> {
    const request = context.request
    if (!(await allowed(this.policy[request.type] ?? DEFAULT_ACCESS[request.type], context))) {
      throw new Permission(`${request.type} is not allowed for peer ${context.peer}`)
    }
    await this.policy.throttle?.(context)
    const store = this.init.store
    const signal = stream.closed
    switch (request.type) {
      case 'get': return sendGet(store, request.request, out, signal)
      case 'getMany': return sendGetMany(store, request.hashes, request.ranges, out, signal)
      case 'observe': return sendObserve(store, request.hash, request.ranges, out, signal)
      case 'push': {
        const data = countBytes(received.rest, n => { received.bytesRead += n })
        await importResponse(store, { type: 'get', request: request.request }, data, { framed: false, signal })
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
      await out.end(statusOf(error), `${error.name}: ${error.message}`)
      await stream.closeRead()
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  private emit (event: ProviderEvent): void {
    try {
      this.init.onEvent?.(event)
    } catch {
      // A listener's failure must not break serving.
    }
  }
}

async function allowed (access: Access, context: RequestContext): Promise<boolean> {
  if (access === 'all') return true
  if (access === 'none') return false
  if (typeof access === 'function') return await access(context)
  return access.peers.includes(context.peer)
}
