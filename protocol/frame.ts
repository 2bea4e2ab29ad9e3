import { PostcardWriter } from '../store/codec/postcard.js'
import { Aborted, MalformedMessage } from './errors.js'
import { errorOf, Status, type StatusCode } from './status.js'
import type { ByteStream } from './interface.js'

/** Payload bytes gathered before a frame is sent: few, large transport writes. */
export const FRAME_SIZE = 256 << 10
/** Longest status message read back; longer ones are cut. */
const MAX_MESSAGE = 1024

/**
 * Writes a response. Framed (verity's protocol): payload in frames `varint(len >= 1) bytes`, then
 * the end frame `00 status varint(len) message`. Raw (`/iroh-bytes/4`): the payload as is, a clean
 * close for success and a reset for any error (iroh's requesters read a reset as a failure).
 * Either way small writes (64-byte pairs) are gathered into FRAME_SIZE pieces.
 */
export class ResponseWriter {
  private buffer: Uint8Array
  private used: number
  /** Payload bytes accepted so far. */
  bytesSent = 0

  constructor (private readonly stream: ByteStream, readonly framed: boolean,
    private readonly beforeSend: (bytes: number) => void | Promise<void> = () => {}) {
    this.buffer = this.fresh()
    this.used = this.start
  }

  private get start (): number { return this.framed ? 3 : 0 }

  private fresh (): Uint8Array { return new Uint8Array(this.start + FRAME_SIZE) }

  async write (bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const take = Math.min(bytes.length - at, this.buffer.length - this.used)
      this.buffer.set(bytes.subarray(at, at + take), this.used)
      this.used += take
      at += take
      if (this.used === this.buffer.length) await this.flush()
    }
    this.bytesSent += bytes.length
  }

  /** Send what is gathered. */
  async flush (): Promise<void> {
    const length = this.used - this.start
    if (length === 0) return
    await this.beforeSend(length)
    let frame = this.buffer.subarray(this.start, this.used)
    if (this.framed) {
      // Varint length in the 3 bytes reserved before the payload (FRAME_SIZE < 2^21).
      const header = new PostcardWriter().varint(length).finish()
      const from = this.start - header.length
      this.buffer.set(header, from)
      frame = this.buffer.subarray(from, this.used)
    }
    // The transport may hold on to the bytes until sent: never reuse a buffer handed to it.
    this.buffer = this.fresh()
    this.used = this.start
    await this.stream.write(frame)
  }

  /** End the response: flush, then the end frame (framed) and a clean close, or a reset (raw error). */
  async end (status: StatusCode = Status.Ok, message = ''): Promise<void> {
    if (status === Status.Ok || this.framed || this.bytesSent === 0) await this.flush()
    if (this.framed) {
      const text = new TextEncoder().encode(message.slice(0, MAX_MESSAGE))
      await this.stream.write(new PostcardWriter().byte(0).byte(status).varint(text.length).bytes(text).finish())
      await this.stream.closeWrite()
    } else if (status === Status.Ok || (status === Status.NotFound && this.bytesSent === 0)) {
      // iroh's requesters read an end before the first size header as "not found".
      await this.stream.closeWrite()
    } else {
      this.stream.abort(new Error(`request failed with status ${status}: ${message}`))
    }
  }
}

/**
 * Payload of a framed response, as slices of what arrives (no copies). Ends at an Ok end frame;
 * an error end frame throws the named error for its status; a stream that ends or resets without
 * an end frame throws Aborted; bytes after the end frame throw MalformedMessage.
 */
export async function * deframe (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let remaining = 0 // payload bytes left in the current frame
  let header: number[] = [] // bytes of a header split across slices
  let end: number[] | undefined // bytes of the end frame, once it began
  try {
    for await (const chunk of source) {
      let at = 0
      while (at < chunk.length) {
        if (end !== undefined) {
          end.push(...chunk.subarray(at, at + MAX_MESSAGE + 8 - end.length))
          at = chunk.length
          if (end.length >= MAX_MESSAGE + 8) throw new MalformedMessage('end frame too long')
          continue
        }
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - at)
          yield chunk.subarray(at, at + take)
          remaining -= take
          at += take
          continue
        }
        const byte = chunk[at++] as number
        header.push(byte)
        if (byte & 0x80) {
          if (header.length > 4) throw new MalformedMessage('frame length varint too long')
          continue
        }
        let length = 0
        for (let i = header.length - 1; i >= 0; i--) length = length * 128 + ((header[i] as number) & 0x7f)
        header = []
        if (length === 0) end = []
        else remaining = length
      }
    }
  } catch (err) {
    if ((err as Error).name === 'MalformedMessage') throw err
    throw Object.assign(new Aborted(`the stream failed: ${(err as Error).message}`), { cause: err })
  }
  if (end === undefined || remaining > 0) throw new Aborted('the stream ended without an end frame')
  const { status, message, length } = parseEnd(end)
  if (length !== end.length) throw new MalformedMessage(`${end.length - length} bytes after the end frame`)
  if (status !== Status.Ok) throw errorOf(status, message)
}

function parseEnd (bytes: number[]): { status: number, message: string, length: number } {
  if (bytes.length < 2) throw new Aborted('the stream ended inside the end frame')
  const status = bytes[0] as number
  let length = 0
  let at = 1
  for (let shift = 1; ; shift *= 128) {
    const byte = bytes[at++]
    if (byte === undefined) throw new Aborted('the stream ended inside the end frame')
    length += (byte & 0x7f) * shift
    if ((byte & 0x80) === 0) break
    if (at > 4) throw new MalformedMessage('end frame length varint too long')
  }
  if (bytes.length < at + length) throw new Aborted('the stream ended inside the end frame')
  const message = new TextDecoder().decode(Uint8Array.from(bytes.slice(at, at + length)))
  return { status, message, length: at + length }
}
