import { PostcardWriter } from '../store/codec/postcard.js'
import { VarintDecoder } from '../store/codec/varint.js'
import { Aborted, MalformedMessage } from './errors.js'
import { errorOf, Status, type StatusCode } from './status.js'
import type { ByteStream } from './interface.js'

/** Payload bytes gathered before a frame is sent: few, large transport writes. */
export const FRAME_SIZE = 256 << 10
/** The first buffer of a response, before it shows it needs whole frames. */
const SMALL_BUFFER = 4096
/** Longest status message, in UTF-8 bytes: the writer cuts longer ones, the reader refuses them. */
const MAX_MESSAGE = 1024

/**
 * Writes a response. Framed (verity's protocol): payload in frames `varint(len >= 1) bytes`, then
 * the end frame `00 status varint(len) message`. Raw (`/iroh-bytes/4`): the payload as is, a clean
 * close for success and a reset for any error (iroh's requesters read a reset as a failure).
 * Either way small writes (64-byte pairs) are gathered into FRAME_SIZE pieces.
 */
export class ResponseWriter {
  /**
   * Made at the first write (a stream that waits or fails holds none): small at first (an Observe
   * message, an error), a whole frame once a frame filled up (a blob's bytes).
   */
  private buffer: Uint8Array | undefined
  /**
   * A whole-frame buffer the transport gave back (ByteStream.released): the next frame is
   * gathered in it, so a long response allocates one frame, not one per 256 KiB sent.
   */
  private spare: Uint8Array | undefined
  private nextSize = SMALL_BUFFER
  private used: number
  /** Payload bytes accepted so far. */
  bytesSent = 0

  constructor (private readonly stream: ByteStream, readonly framed: boolean,
    private readonly beforeSend: (bytes: number) => void | Promise<void> = () => {}) {
    this.used = this.start
  }

  private get start (): number { return this.framed ? 3 : 0 }

  /**
   * The last stage of a response's pipeline: every batch of `source` (slices, or one piece),
   * framed and sent; a batch's slices are copied into frames before the next batch is asked for.
   */
  readonly sink = async (source: AsyncIterable<Uint8Array | readonly Uint8Array[]>): Promise<void> => {
    for await (const batch of source) {
      if (Array.isArray(batch)) await this.writeAll(batch)
      else await this.write(batch as Uint8Array)
    }
  }

  async write (bytes: Uint8Array): Promise<void> {
    await this.writeAll([bytes])
  }

  /** Each of `pieces` in turn, as `write` would: awaits only to send a frame that filled up. */
  async writeAll (pieces: readonly Uint8Array[]): Promise<void> {
    for (const bytes of pieces) {
      for (let at = 0; at < bytes.length;) {
        this.buffer ??= this.fresh(Math.min(FRAME_SIZE, Math.max(bytes.length - at, this.nextSize)))
        if (this.used === this.buffer.length) this.grow()
        const buffer = this.buffer
        const take = Math.min(bytes.length - at, buffer.length - this.used)
        buffer.set(take === bytes.length ? bytes : bytes.subarray(at, at + take), this.used)
        this.used += take
        at += take
        if (this.used === this.start + FRAME_SIZE) {
          this.nextSize = FRAME_SIZE
          await this.flush()
        }
      }
      this.bytesSent += bytes.length
    }
  }

  /** Send what is gathered. */
  async flush (): Promise<void> {
    const length = this.used - this.start
    const buffer = this.buffer
    if (length === 0 || buffer === undefined) return
    await this.beforeSend(length)
    let frame = buffer.subarray(this.start, this.used)
    if (this.framed) {
      // Varint length in the 3 bytes reserved before the payload (FRAME_SIZE < 2^21).
      const header = new PostcardWriter().varint(length).finish()
      const from = this.start - header.length
      buffer.set(header, from)
      frame = buffer.subarray(from, this.used)
    }
    // The transport may hold on to the bytes until sent: a buffer handed to it is filled again
    // only once the transport says it holds none of them (and never after a failed write).
    this.buffer = undefined
    this.used = this.start
    await this.stream.write(frame)
    if (buffer.length === this.start + FRAME_SIZE && this.stream.released?.() === true) this.spare = buffer
  }

  /** A buffer for `payload` bytes after the header room: the spare frame when that is its size. */
  private fresh (payload: number): Uint8Array {
    const spare = this.spare
    if (payload === FRAME_SIZE && spare !== undefined) {
      this.spare = undefined
      return spare
    }
    return new Uint8Array(this.start + payload)
  }

  /** A small buffer outgrown: a whole frame from now on. */
  private grow (): void {
    const grown = this.fresh(FRAME_SIZE)
    grown.set((this.buffer as Uint8Array).subarray(0, this.used))
    this.buffer = grown
    this.nextSize = FRAME_SIZE
  }

  /** End the response: flush, then the end frame (framed) and a clean close, or a reset (raw error). */
  async end (status: StatusCode = Status.Ok, message = ''): Promise<void> {
    // The valid prefix gathered so far goes out whatever the status (raw: before the reset).
    await this.flush()
    if (this.framed) {
      const text = utf8Prefix(message, MAX_MESSAGE)
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
 * an error end frame throws the named error for its status (MalformedMessage for a status this
 * side does not know); a stream that ends or resets without an end frame throws Aborted; bytes
 * after the end frame, or a message longer than MAX_MESSAGE, throw MalformedMessage.
 */
export async function * deframe (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let remaining = 0 // payload bytes left in the current frame
  const header = new VarintDecoder('frame length', 4) // a header may be split across slices
  let end: EndFrame | undefined // the end frame, once it began
  try {
    for await (const chunk of source) {
      let at = 0
      while (at < chunk.length) {
        if (end !== undefined) {
          if (end.done) throw new MalformedMessage(`${chunk.length - at} bytes after the end frame`)
          at = end.feed(chunk, at)
          continue
        }
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - at)
          yield chunk.subarray(at, at + take)
          remaining -= take
          at += take
          continue
        }
        const length = header.push(chunk[at++] as number)
        if (length === undefined) continue
        if (length === 0n) end = new EndFrame()
        else remaining = Number(length)
      }
    }
  } catch (err) {
    if ((err as Error).name === 'MalformedMessage') throw err
    throw Object.assign(new Aborted(`the stream failed: ${(err as Error).message}`), { cause: err })
  }
  if (end === undefined || remaining > 0 || header.inside) throw new Aborted('the stream ended without an end frame')
  if (!end.done) throw new Aborted('the stream ended inside the end frame')
  if (end.status !== Status.Ok) throw errorOf(end.status, new TextDecoder().decode(Uint8Array.from(end.message)))
}

/** The end frame after its `00`: `status varint(len) message[len]`, read byte by byte as it arrives. */
class EndFrame {
  status = -1
  readonly message: number[] = []
  private length: number | undefined
  private readonly lengthDecoder = new VarintDecoder('end frame length', 2)

  get done (): boolean {
    return this.length !== undefined && this.message.length === this.length
  }

  /** Take what belongs to the end frame from `chunk` at `at`; returns where it stopped. */
  feed (chunk: Uint8Array, at: number): number {
    while (at < chunk.length && !this.done) {
      const byte = chunk[at++] as number
      if (this.status === -1) {
        this.status = byte
      } else if (this.length === undefined) {
        const length = this.lengthDecoder.push(byte)
        if (length === undefined) continue
        if (length > BigInt(MAX_MESSAGE)) throw new MalformedMessage(`end frame message of ${length} bytes is over ${MAX_MESSAGE}`)
        this.length = Number(length)
      } else {
        this.message.push(byte)
      }
    }
    return at
  }
}

/** The longest prefix of `text` whose UTF-8 encoding fits in `max` bytes (no character cut). */
function utf8Prefix (text: string, max: number): Uint8Array {
  const bytes = new TextEncoder().encode(text)
  if (bytes.length <= max) return bytes
  let cut = max
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut-- // a continuation byte: back to its start
  return bytes.subarray(0, cut)
}
