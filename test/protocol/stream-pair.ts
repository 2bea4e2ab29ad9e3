import type { ByteStream } from '../../protocol/interface.js'

/**
 * Two connected in-memory ByteStreams, for testing protocol logic without a transport (js-libp2p
 * tests its protocols over an in-memory duplex pair; hypercore keeps in-memory pairs for protocol
 * logic). Semantics, as protocol/interface.ts defines them and src/net/stream.ts gives them over
 * libp2p:
 *
 * - back pressure: a write resolves once the bytes it queued leave at most `highWaterMark` bytes
 *   unread on the other side; until then it waits for the reader;
 * - `closeWrite`: the other side's source ends once it has read everything written before;
 *   writing afterwards fails with StreamStateError;
 * - `closeRead`: what is queued for us and what the other side still writes is dropped (its
 *   writes resolve at once); breaking out of `source` drops them too (the libp2p adapter stops
 *   listening then) but does not close the read side;
 * - `abort(err)`: our source and our waiting writes fail with `err`; the other side reads what
 *   was already written to it, then its source fails with StreamResetError, as do its writes;
 * - `closed` aborts on both sides once both write sides are closed (or a side closed its write
 *   and its read), and on both at once when either resets.
 *
 * Written bytes are handed over as they are, not copied: the transport may hold on to a buffer it
 * was given, so a writer that reuses one after `write` resolved corrupts what the other side reads.
 */
export interface PairOptions {
  /** Unread bytes one side may queue before its write waits. @default 64 KiB */
  highWaterMark?: number
  /** Deliver written pieces in slices of at most this many bytes (split points). @default whole */
  sliceSize?: number
}

/** The other side reset the stream (libp2p's name for it). */
export class StreamResetError extends Error {
  static override name = 'StreamResetError'
  constructor (message = 'the stream was reset by the remote side') {
    super(message)
    this.name = 'StreamResetError'
  }
}

/** A write after our write side closed (libp2p's name for it). */
export class StreamStateError extends Error {
  static override name = 'StreamStateError'
  constructor (message = 'the stream is not writable') {
    super(message)
    this.name = 'StreamStateError'
  }
}

/** What one side sees of the pair; `stream` is the ByteStream it uses. */
export interface PairEnd {
  stream: ByteStream
  /** Bytes written by this side and not yet read by the other. */
  readonly unread: number
  /** Bytes this side's writes handed over so far (dropped ones included). */
  readonly written: number
}

/** One direction: a writer's queue towards one reader. */
class Pipe {
  private readonly queue: Uint8Array[] = []
  queued = 0
  written = 0
  writeClosed = false
  /** The reader closed its read side. */
  readClosed = false
  /** The reader closed its read side or stopped iterating: bytes are dropped. */
  dropping = false
  /** Set on a reset: the reader's error once the queue is read (the writer's at once). */
  readError: Error | undefined
  writeError: Error | undefined
  private wakeReader: (() => void) | undefined
  private readonly drainWaiters = new Set<{ resolve: () => void, reject: (err: Error) => void }>()

  constructor (private readonly highWaterMark: number, private readonly sliceSize: number) {}

  async write (bytes: Uint8Array): Promise<void> {
    if (this.writeError !== undefined) throw this.writeError
    if (this.writeClosed) throw new StreamStateError('write after closeWrite')
    this.written += bytes.length
    if (this.dropping || bytes.length === 0) return
    for (let at = 0; at < bytes.length; at += this.sliceSize) {
      this.queue.push(bytes.subarray(at, Math.min(bytes.length, at + this.sliceSize)))
    }
    this.queued += bytes.length
    this.wake()
    if (this.queued <= this.highWaterMark) return
    await new Promise<void>((resolve, reject) => { this.drainWaiters.add({ resolve, reject }) })
  }

  closeWrite (): void {
    this.writeClosed = true
    this.wake()
  }

  /** The reader closed its read side: as `detach`, and the side counts as closed for reading. */
  closeRead (): void {
    this.readClosed = true
    this.detach()
  }

  /** The reader is gone: drop what is queued and what comes; writers go on at once. */
  detach (): void {
    this.dropping = true
    this.queue.length = 0
    this.queued = 0
    this.drained()
    this.wake()
  }

  /** A reset: the reader gets `readError` after what is queued (nothing, if `drop`). */
  reset (readError: Error, writeError: Error, drop: boolean): void {
    this.readError ??= readError
    this.writeError ??= writeError
    if (drop) {
      this.queue.length = 0
      this.queued = 0
    }
    for (const waiter of this.drainWaiters) waiter.reject(this.writeError)
    this.drainWaiters.clear()
    this.wake()
  }

  async next (): Promise<IteratorResult<Uint8Array>> {
    while (true) {
      const piece = this.queue.shift()
      if (piece !== undefined) {
        this.queued -= piece.length
        if (this.queued <= this.highWaterMark) this.drained()
        return { done: false, value: piece }
      }
      if (this.readError !== undefined) throw this.readError
      if (this.writeClosed || this.dropping) return { done: true, value: undefined }
      await new Promise<void>(resolve => { this.wakeReader = resolve })
      this.wakeReader = undefined
    }
  }

  private drained (): void {
    for (const waiter of this.drainWaiters) waiter.resolve()
    this.drainWaiters.clear()
  }

  private wake (): void {
    this.wakeReader?.()
  }
}

/** Two ends of one in-memory stream: what `a` writes `b` reads, and the other way round. */
export function streamPair (options: PairOptions = {}): [PairEnd, PairEnd] {
  const highWaterMark = options.highWaterMark ?? 64 << 10
  const sliceSize = options.sliceSize ?? Infinity
  if (!(highWaterMark >= 0)) throw new RangeError(`highWaterMark must be >= 0, got ${highWaterMark}`)
  if (!(sliceSize >= 1)) throw new RangeError(`sliceSize must be >= 1, got ${sliceSize}`)
  const aToB = new Pipe(highWaterMark, sliceSize)
  const bToA = new Pipe(highWaterMark, sliceSize)
  const closedA = new AbortController()
  const closedB = new AbortController()
  const settle = (): void => {
    // A side is closed once its write side is closed and it reads no more (the other side
    // closed its write, or this side closed its read); libp2p closes both once both writes are.
    const bothWrites = aToB.writeClosed && bToA.writeClosed
    if (bothWrites || (aToB.writeClosed && bToA.readClosed)) closedA.abort()
    if (bothWrites || (bToA.writeClosed && aToB.readClosed)) closedB.abort()
  }
  const end = (out: Pipe, incoming: Pipe, closed: AbortController, otherClosed: AbortController): PairEnd => {
    let iterating = false
    const iterator: AsyncIterableIterator<Uint8Array> = {
      next: async () => incoming.next(),
      return: async () => {
        // Stopped reading: as in the libp2p adapter, which stops listening, nothing more is kept,
        // but the read side is not closed (closed does not change).
        incoming.detach()
        return { done: true, value: undefined }
      },
      [Symbol.asyncIterator]: () => iterator
    }
    const stream: ByteStream = {
      source: {
        [Symbol.asyncIterator]: () => {
          if (iterating) throw new Error('the source of a stream can be read only once')
          iterating = true
          return iterator
        }
      },
      write: async bytes => { await out.write(bytes) },
      closeWrite: async () => {
        if (out.writeError !== undefined) throw out.writeError
        out.closeWrite()
        settle()
      },
      closeRead: async () => {
        incoming.closeRead()
        settle()
      },
      abort: (err: Error) => {
        if (closed.signal.aborted) return
        // Our side fails with our reason; the other side reads what it already has, then a reset.
        incoming.reset(err, new StreamResetError(), true)
        out.reset(new StreamResetError(), err, false)
        closed.abort(err)
        otherClosed.abort(new StreamResetError())
      },
      closed: closed.signal
    }
    return {
      stream,
      get unread () { return out.queued },
      get written () { return out.written }
    }
  }
  return [end(aToB, bToA, closedA, closedB), end(bToA, aToB, closedB, closedA)]
}

/**
 * A man in the middle on the reading side: `stream` with each piece of its source passed through
 * `edit` (given a copy of the piece and its position in the whole incoming byte stream).
 */
export function tamper (stream: ByteStream, edit: (piece: Uint8Array, position: number) => Uint8Array): ByteStream {
  let position = 0
  return {
    ...stream,
    source: (async function * () {
      for await (const piece of stream.source) {
        const edited = edit(piece.slice(), position)
        position += piece.length
        yield edited
      }
    })(),
    closed: stream.closed
  }
}
