import type { Libp2p } from '@libp2p/interface'
import { coalesce } from '../net/coalesce.js'
import { byteStream } from '../net/stream.js'
import { encodeHead, headersOf, readHead, REQUEST_PROTOCOL } from './libp2p-frames.js'
import type { RequestHeaders } from './interface.js'
import { collect } from './util.js'

export interface IncomingRequest {
  path: string
  method: string
  headers: RequestHeaders
  payload: Uint8Array
  peer: string
  /** Aborts when the requester resets or closes the stream, or the node stops. */
  signal: AbortSignal
}

export interface OutgoingResponse { status: number, headers?: RequestHeaders, body?: string | Uint8Array | AsyncIterable<Uint8Array> }

export interface ServeRequestsOptions {
  /** @default 16 MiB */
  maxPayloadBytes?: number
  /** Requests one peer may have open at once (over all its connections); more are answered 429 at once. @default 8 */
  maxPerPeer?: number
  /** Requests open at once on the node, per connection (libp2p's inbound stream limit). @default 64 */
  maxInboundStreams?: number
  /**
   * The stream's inactivity timeout: 0 for answers that wait long before their first byte (a
   * seed importing a URL). A requester that stops reading is reset after the stream's write
   * stall limit (WRITE_STALL_MS) whatever this says.
   * @default libp2p's
   */
  inactivityTimeoutMs?: number
}

/**
 * Answers `/verity/request/1` on `libp2p` with `handler`: one request per stream, its payload
 * read whole (up to `maxPayloadBytes`), the answer's body streamed with back pressure. A
 * handler's failure is a 500 with `{ error: name }` as the body; past `maxPerPeer` a 429.
 * Resolves to a function that stops answering.
 */
export async function serveRequests (libp2p: Pick<Libp2p, 'handle' | 'unhandle'>, handler: (request: IncomingRequest) => Promise<OutgoingResponse>,
  options: ServeRequestsOptions = {}): Promise<() => Promise<void>> {
  const maxPayload = options.maxPayloadBytes ?? 16 << 20
  const maxPerPeer = options.maxPerPeer ?? 8
  const open = new Map<string, number>()
  await libp2p.handle(REQUEST_PROTOCOL, (stream, connection) => {
    if (options.inactivityTimeoutMs !== undefined) stream.inactivityTimeout = options.inactivityTimeoutMs
    const bytes = byteStream(stream)
    const peer = connection.remotePeer.toString()
    const count = (open.get(peer) ?? 0) + 1
    open.set(peer, count)
    void (async () => {
      try {
        const { head, rest } = await readHead(bytes.source)
        const length = Number(head.length ?? 0)
        if (!Number.isSafeInteger(length) || length < 0 || length > maxPayload) throw new RangeError(`payload length must be 0 to ${maxPayload}, got ${String(head.length)}`)
        let answer: OutgoingResponse
        if (count > maxPerPeer) {
          answer = { status: 429, body: JSON.stringify({ error: 'RateLimited', message: `at most ${maxPerPeer} requests of one peer at once` }) }
        } else {
          const payload = await collect(rest)
          try {
            answer = await handler({ path: String(head.path ?? '/'), method: String(head.method ?? 'GET'), headers: headersOf(head.headers), payload, peer, signal: bytes.closed })
          } catch (err) {
            answer = { status: 500, body: JSON.stringify({ error: (err as Error).name }) }
          }
        }
        await bytes.write(encodeHead({ status: answer.status, headers: answer.headers ?? {} }))
        const body = typeof answer.body === 'string' ? new TextEncoder().encode(answer.body) : answer.body ?? new Uint8Array(0)
        if (body instanceof Uint8Array) {
          if (body.length > 0) await bytes.write(body)
        } else {
          // A store reader yields 16 KiB groups; a libp2p stream pays per write: gathered into large ones.
          for await (const part of coalesce(body)) await bytes.write(part)
        }
        await bytes.closeWrite()
      } catch (err) {
        bytes.abort(err as Error)
      } finally {
        const left = (open.get(peer) ?? 1) - 1
        if (left === 0) open.delete(peer)
        else open.set(peer, left)
      }
    })()
  }, { maxInboundStreams: options.maxInboundStreams ?? 64 })
  return async () => { await libp2p.unhandle(REQUEST_PROTOCOL) }
}
