import { MalformedMessage, RequestTooLarge } from '../../protocol/errors.js'
import { PREFIX_BYTES } from './constants.js'

/**
 * A message on /verity/task/1: its JSON as UTF-8, after an unsigned 32-bit big-endian count of
 * those bytes.
 */
export function encodeFrame (message: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(message))
  const out = new Uint8Array(PREFIX_BYTES + json.length)
  new DataView(out.buffer).setUint32(0, json.length)
  out.set(json, PREFIX_BYTES)
  return out
}

/**
 * Messages from a stream, one at a time. A length over `maxBytes` fails with RequestTooLarge as
 * soon as the prefix is read (nothing of the body is read or held); a body that is not a JSON
 * object, or a stream that ends inside a message, with MalformedMessage. The bytes read are
 * copied out of the transport's pieces, never kept as views of them.
 */
export class FrameReader {
  private readonly iterator: AsyncIterator<Uint8Array>
  private buffered = new Uint8Array(0)

  constructor (source: AsyncIterable<Uint8Array>, private readonly maxBytes: number) {
    this.iterator = source[Symbol.asyncIterator]()
  }

  /** The next message, or undefined when the stream ended cleanly between messages. */
  async next (): Promise<Record<string, unknown> | undefined> {
    if (!await this.fill(PREFIX_BYTES)) {
      if (this.buffered.length === 0) return undefined
      throw new MalformedMessage('the stream ended inside a message\'s length')
    }
    const length = new DataView(this.buffered.buffer, this.buffered.byteOffset, PREFIX_BYTES).getUint32(0)
    if (length > this.maxBytes) throw new RequestTooLarge('message bytes', length, this.maxBytes)
    if (!await this.fill(PREFIX_BYTES + length)) throw new MalformedMessage(`the stream ended inside a message of ${length} bytes`)
    const body = this.buffered.slice(PREFIX_BYTES, PREFIX_BYTES + length)
    this.buffered = this.buffered.slice(PREFIX_BYTES + length)
    let parsed: unknown
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
    } catch (err) {
      throw new MalformedMessage(`a message is not JSON in UTF-8: ${(err as Error).message}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new MalformedMessage('a message must be a JSON object')
    return parsed as Record<string, unknown>
  }

  private async fill (n: number): Promise<boolean> {
    while (this.buffered.length < n) {
      const next = await this.iterator.next()
      if (next.done === true) return false
      const joined = new Uint8Array(this.buffered.length + next.value.length)
      joined.set(this.buffered, 0)
      joined.set(next.value, this.buffered.length)
      this.buffered = joined
    }
    return true
  }
}
