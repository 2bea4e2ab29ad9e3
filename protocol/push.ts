import { pipe } from 'it-pipe'
import type { BlobStore } from '../store/interface.js'
import { deframe, ResponseWriter } from './frame.js'
import type { ByteStream } from './interface.js'
import type { OpenStream } from './get/machine.js'
import { encodeGet } from './provider/handlers.js'
import { encodeRequest, type GetRequest } from './request.js'

export interface PushStats {
  /** Encoded bytes sent after the request. */
  bytesSent: number
  elapsedMs: number
}

/**
 * Push: send the request, then exactly what a provider would send for it, from our store. On
 * verity's framed protocol the receiver answers with a status (Permission when its policy says
 * no), which ends the push early; on plain `/iroh-bytes/4` a refusal is a reset.
 */
export async function pushTo (open: OpenStream, store: BlobStore, request: GetRequest, options: { signal?: AbortSignal } = {}): Promise<PushStats> {
  const started = performance.now()
  const { stream, framed } = await open(options.signal)
  const stop = new AbortController()
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal])
  // The receiver's answer, read while we send, so a refusal stops the sending at once.
  const answer = (async () => {
    const source = framed ? deframe(stream.source) : stream.source
    for await (const _ of source) { /* a receiver sends no payload */ }
  })()
  answer.catch(() => stop.abort())
  // Whether sending failed on the stream (the receiver refused or went away) or here (a blob we
  // lack, a corrupt store): only the first has an answer to wait for.
  let sendFailed = false
  const sending: ByteStream = {
    ...stream,
    write: async bytes => {
      try {
        await stream.write(bytes)
      } catch (err) {
        sendFailed = true
        throw err
      }
    }
  }
  const out = new ResponseWriter(sending, false)
  try {
    await sending.write(encodeRequest({ type: 'push', request }))
    await pipe(encodeGet(store, request, signal), out.sink)
    await out.flush()
    await stream.closeWrite()
  } catch (err) {
    if (sendFailed || stop.signal.aborted) {
      // A refusal shows up as a failed write; the receiver's status says why.
      await answer
    }
    // Our own failure: the receiver still waits for data, so it is reset (and told nothing more).
    stream.abort(err as Error)
    throw err
  }
  try {
    await answer
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
  return { bytesSent: out.bytesSent, elapsedMs: performance.now() - started }
}
