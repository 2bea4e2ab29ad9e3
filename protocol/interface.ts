import type { Request } from './request.js'

/**
 * A bidirectional byte stream as the protocol sees it. `src/` adapts libp2p streams to it;
 * tests use in-memory pairs, so the protocol logic does not depend on a transport.
 */
export interface ByteStream {
  /** Bytes from the remote side, until it closes its write side; throws if the stream resets. */
  readonly source: AsyncIterable<Uint8Array>
  /** Resolves once the bytes are accepted (waits while the transport applies back pressure). */
  write: (bytes: Uint8Array) => Promise<void>
  /** Close our write side cleanly once everything written is sent. */
  closeWrite: () => Promise<void>
  /** Tell the remote side we read no more (what it still sends is dropped). */
  closeRead: () => Promise<void>
  /** Reset both directions now. */
  abort: (err: Error) => void
  /** Aborted once the stream is closed both ways or reset. */
  readonly closed: AbortSignal
}

export type RequestKind = Request['type']

/** Who asked for what, as the provider's policy hooks and events see it. */
export interface RequestContext {
  /** The remote peer id (text). */
  peer: string
  connectionId: string
  /** Unique per provider. */
  requestId: number
  request: Request
}

/**
 * Who may make one kind of request: everyone, nobody, listed peer ids, or a hook deciding per
 * request (it may look at the request itself).
 */
export type Access = 'all' | 'none' | { peers: readonly string[] } | ((ctx: RequestContext) => boolean | Promise<boolean>)

export interface ProviderPolicy {
  /** @default 'all' */
  get?: Access
  /** @default 'all' */
  getMany?: Access
  /** @default 'all' */
  observe?: Access
  /** @default 'none' (unlike iroh-blobs, whose push gate reads the get setting) */
  push?: Access
  /**
   * Called once a request is allowed, before it is served: it may wait (throttling) or throw
   * RateLimited (or any error, which the requester sees as Internal).
   */
  throttle?: (ctx: RequestContext) => void | Promise<void>
  /** Called before each piece of a response is sent; it may wait to cap bandwidth. */
  throttleSend?: (ctx: RequestContext, bytes: number) => void | Promise<void>
}

export interface TransferStats {
  /** Response bytes written (payload, without framing). */
  bytesSent: number
  /** Request bytes read (with a push, the pushed data). */
  bytesRead: number
  durationMs: number
}

/** What a provider tells its `onEvent` listener; a listener may be async (its failure is logged, never thrown). */
export type ProviderEvent =
  | { type: 'connected', peer: string, connectionId: string }
  | { type: 'requestReceived', context: RequestContext }
  | { type: 'progress', context: RequestContext, bytesSent: number }
  | { type: 'completed', context: RequestContext, stats: TransferStats }
  /** Refused, failed, or the requester went away; `error.name` says which. */
  | { type: 'aborted', context: RequestContext | undefined, peer: string, stats: TransferStats, error: Error }
