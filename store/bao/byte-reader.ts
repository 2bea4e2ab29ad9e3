import { untilAborted } from '../abort.js'
import { UnexpectedEnd } from './errors.js'

/**
 * Pulls exact byte counts out of an async iterable of arbitrary slices. A read that fits in the
 * current slice returns a view of it (no copy); one that spans slices copies into a new buffer.
 * Several decoders can share one reader, one after another (a Get response holds several blobs).
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>
  private current: Uint8Array = new Uint8Array(0)
  private offset = 0
  private done = false
  /** Bytes handed out so far. */
  position = 0
  /** Filled again by each transient read that spans slices (readTransient). */
  private scratch: Uint8Array | undefined

  /** With a signal, a read waiting on a stalled source ends as soon as the signal aborts. */
  constructor (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, private readonly signal?: AbortSignal) {
    this.iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
  }

  /** Exactly `length` bytes, or UnexpectedEnd if the source ends first. */
  async read (length: number): Promise<Uint8Array> {
    if (await this.holds(length)) return this.view(length)
    return await this.gather(new Uint8Array(length))
  }

  /**
   * The next `length` bytes as a view, if the slice at hand holds them all; else undefined and
   * nothing read (no wait: a decoder that gathers what is here before it awaits the source).
   */
  take (length: number): Uint8Array | undefined {
    return this.current.length - this.offset >= length ? this.view(length) : undefined
  }

  /**
   * As `read`, but bytes that span slices are gathered in a buffer of the reader's that the next
   * transient read fills again: the result is valid only until then. For a caller that copies
   * what it keeps (a network stream's slices rarely line up with a group, so each read would
   * otherwise allocate one).
   */
  async readTransient (length: number): Promise<Uint8Array> {
    if (await this.holds(length)) return this.view(length)
    if (this.scratch === undefined || this.scratch.length < length) this.scratch = new Uint8Array(length)
    return await this.gather(this.scratch.subarray(0, length))
  }

  /**
   * Whether the slice at hand holds `length` bytes, after pulling the next one if this one is used
   * up: a read that starts where a slice starts is a view of it, not a copy.
   */
  private async holds (length: number): Promise<boolean> {
    if (this.offset === this.current.length && length > 0) await this.pull()
    return this.current.length - this.offset >= length
  }

  private view (length: number): Uint8Array {
    const view = this.current.subarray(this.offset, this.offset + length)
    this.offset += length
    this.position += length
    return view
  }

  /** Fills `out` from the slices, or UnexpectedEnd if the source ends first. */
  private async gather (out: Uint8Array): Promise<Uint8Array> {
    const length = out.length
    let filled = 0
    while (filled < length) {
      if (this.offset === this.current.length && !(await this.pull())) {
        throw new UnexpectedEnd(this.position + filled, length - filled)
      }
      const take = Math.min(length - filled, this.current.length - this.offset)
      out.set(this.current.subarray(this.offset, this.offset + take), filled)
      this.offset += take
      filled += take
    }
    this.position += length
    return out
  }

  /** Whether the source has no more bytes (waits for the next slice or the end). */
  async atEnd (): Promise<boolean> {
    while (this.offset === this.current.length) {
      if (!(await this.pull())) return true
    }
    return false
  }

  /** Stop reading: ends the underlying iterator (closes a network stream's read side). */
  async close (): Promise<void> {
    this.done = true
    await this.iterator.return?.()
  }

  private async pull (): Promise<boolean> {
    if (this.done) return false
    const next = await this.nextOrAbort()
    if (next.done === true) {
      this.done = true
      return false
    }
    if (!(next.value instanceof Uint8Array)) throw new TypeError('encoded stream must yield Uint8Array slices')
    this.current = next.value
    this.offset = 0
    return true
  }

  private async nextOrAbort (): Promise<IteratorResult<Uint8Array>> {
    const signal = this.signal
    if (signal === undefined) return this.iterator.next()
    try {
      return await untilAborted(this.iterator.next(), signal)
    } catch (err) {
      if (signal.aborted) {
        // Let the source go; a generator stuck in an await finishes its return() later.
        this.done = true
        Promise.resolve(this.iterator.return?.()).catch(() => {})
      }
      throw err
    }
  }
}
