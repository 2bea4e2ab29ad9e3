import type { Libp2p } from '@libp2p/interface'
import { byteStream } from '../net/stream.js'
import { encodeHead, headersOf, readHead, REQUEST_PROTOCOL } from './libp2p-frames.js'
import type { RequestHeaders } from './interface.js'
import { collect } from './util.js'

export interface IncomingRequest { path: string, headers: RequestHeaders, payload: Uint8Array, peer: string }
export interface OutgoingResponse { status: number, headers?: RequestHeaders, body?: Uint8Array | AsyncIterable<Uint8Array> }

/**
 * Answers `/verity/request/1` on `libp2p` with `handler`: one request per stream, its payload
 * read whole (up to `maxPayloadBytes`), the answer's body streamed. A handler's failure is a 500
 * with `{ error: name }` as the body. Resolves to a function that stops answering.
 */
export async function serveRequests (libp2p: Pick<Libp2p, 'handle' | 'unhandle'>, handler: (request: IncomingRequest) => Promise<OutgoingResponse>, options: { maxPayloadBytes?: number } = {}): Promise<() => Promise<void>> {
  const maxPayload = options.maxPayloadBytes ?? 16 << 20
  await libp2p.handle(REQUEST_PROTOCOL, (stream, connection) => {
    const bytes = byteStream(stream)
    void (async () => {
      try {
        const { head, rest } = await readHead(bytes.source)
        const length = Number(head.length ?? 0)
        if (!Number.isSafeInteger(length) || length < 0 || length > maxPayload) throw new RangeError(`payload length must be 0 to ${maxPayload}, got ${String(head.length)}`)
        const payload = await collect(rest)
        let answer: OutgoingResponse
        try {
          answer = await handler({ path: String(head.path ?? '/'), headers: headersOf(head.headers), payload, peer: connection.remotePeer.toString() })
        } catch (err) {
          answer = { status: 500, body: new TextEncoder().encode(JSON.stringify({ error: (err as Error).name })) }
        }
        await bytes.write(encodeHead({ status: answer.status, headers: answer.headers ?? {} }))
        const body = answer.body ?? new Uint8Array(0)
        if (body instanceof Uint8Array) {
          if (body.length > 0) await bytes.write(body)
        } else {
          for await (const part of body) await bytes.write(part)
        }
        await bytes.closeWrite()
      } catch (err) {
        bytes.abort(err as Error)
      }
    })()
  }, { maxInboundStreams: 64 })
  return async () => { await libp2p.unhandle(REQUEST_PROTOCOL) }
}
