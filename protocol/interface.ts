import type { BlobStore } from '../store/interface.js'
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
  /**
   * True when the transport holds none of the bytes handed to `write` any more (sent, or copied
   * where it keeps them), so a buffer written may be filled again. Absent where the transport
   * cannot tell: a buffer written is then never reused.
   */
  readonly released?: () => boolean
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
  /**
   * The blobs this node serves: a hash for which it returns false is answered exactly as a blob
   * the store does not have, for every request kind that reads one (a Get's root, each child a Get
   * asks for, each GetMany hash, an Observe's hash): NotFound (status 3; on `/iroh-bytes/4` the
   * stream ends before a size header), and an Observe sees an absent blob's bitfield (size 0,
   * nothing present) that never changes. So a scoped node does not tell a peer what else it
   * holds, as Permission would. A HashSeq's children are checked one by one: a root in scope does
   * not bring its children with it (`scopeOf` builds a scope of a collection and its children).
   * Asked each time a request reads a blob's status, bytes or bitfield (a few times per blob), so
   * it should be quick (a set lookup); it may change its answer over time (a blob being sent, or
   * observed, when it does is finished as it began). Push stores, it reads nothing, so `push`
   * alone governs it. @default every blob in the store
   */
  scope?: (hash: Uint8Array) => boolean
}

/**
 * What serving reads of a store: a blob's status, its encoded ranges, its bytes (a HashSeq's
 * children) and its bitfield over time. The provider serves through such a view of its store
 * (protocol/provider/scope.ts), which hides what is out of scope. The provider reads blobs with
 * `exportBaoBatches` where the store has it (asking for `transient` batches, which it copies
 * before it asks for the next), else with `exportBao`: a wrapper that changes what exportBao
 * yields must change or hide exportBaoBatches as well, and one that passes batches on must not
 * keep them or read ahead.
 */
export type ServedStore = Pick<BlobStore, 'status' | 'exportBao' | 'exportBaoBatches' | 'reader' | 'observe'>

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
  /**
   * Refused, failed, or the requester went away; `error.name` says which. `blob` is the blob the
   * request was reading when it failed (a Get's root or child, a GetMany entry, an Observe's
   * hash), absent when it failed before reading one: with a local error (`LeafHashMismatch` with
   * `local: true`, a file added in place that shrank or vanished) it names the blob whose stored
   * bytes are bad.
   */
  | { type: 'aborted', context: RequestContext | undefined, peer: string, stats: TransferStats, error: Error, blob?: Uint8Array }
