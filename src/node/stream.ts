import type { Stream } from '@libp2p/interface'
import type { ByteStream } from '../../protocol/interface.js'

/** A libp2p 3 stream as a ByteStream: chunks as Uint8Array, writes that honour back pressure. */
export function byteStream (stream: Stream): ByteStream {
  return {
    source: (async function * () {
      for await (const chunk of stream) yield chunk instanceof Uint8Array ? chunk : chunk.subarray()
    })(),
    write: async (bytes: Uint8Array) => {
      if (!stream.send(bytes)) await stream.onDrain()
    },
    closeWrite: async () => { await stream.close() },
    abort: (err: Error) => { stream.abort(err) }
  }
}
