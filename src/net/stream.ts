import type { Stream } from '@libp2p/interface'
import { concat } from 'uint8arrays'
import { Timeout } from '../../protocol/errors.js'
import type { ByteStream } from '../../protocol/interface.js'
import { releaseCheck } from './transport-fixes/release.js'

/** Unread bytes queued before the stream is paused (the transport then holds the sender back). */
const HIGH_WATER = 4 << 20
/** Queued bytes below which a paused stream resumes. */
const LOW_WATER = 1 << 20
/** Pieces smaller than this that wait together are handed on as one. */
const COALESCE_BELOW = 16 << 10
/** The most bytes gathered into one piece. */
const COALESCE_MAX = 64 << 10

/** `first` and the small pieces after it in `queue`, up to COALESCE_MAX bytes, copied into one. */
function gather (first: Uint8Array, queue: Uint8Array[]): Uint8Array {
  let length = first.length
  let count = 0
  while (count < queue.length) {
    const piece = queue[count] as Uint8Array
    if (piece.length >= COALESCE_BELOW || length + piece.length > COALESCE_MAX) break
    length += piece.length
    count++
  }
  return concat([first, ...queue.splice(0, count)], length)
}

/** Parts of one message joined into pieces of at most this many bytes. */
const JOIN_MAX = 1 << 20
/** A part at least this long is queued as it is. */
const JOIN_BELOW = 256 << 10

/** Small parts of the message being queued, waiting to be copied together (emptied before queueParts returns). */
const run: Uint8Array[] = []

/** The parts in `run` (`length` bytes) onto `queue`: as they are if one, else copied into one. */
function flushRun (queue: Uint8Array[], length: number): void {
  if (run.length === 1) queue.push(run[0] as Uint8Array)
  else if (run.length > 1) queue.push(concat(run, length))
  run.length = 0
}

/**
 * Queues the parts of one message, the smaller ones copied together into pieces of up to
 * JOIN_MAX, and returns how many bytes it queued. Over TCP a message is a dozen views of noise's
 * decrypted ~64 KiB buffers: queued as they are, they live as long as the reader lags and are
 * promoted out of the young generation, and a 16 KiB group spans two of them every other time.
 * Joined at once, the transport's buffers die young: a 256 MiB fetch over TCP took 1.70 s of
 * fetcher CPU in place of 1.93 (medians of 7, a shared machine) and peaked at 190 MB in place of
 * 220. A plain loop, not a generator of our own: a peer sending one-byte frames makes this run
 * once per byte (joinParts, a generator with a generator closure per message, was 28% of the CPU
 * of a turn that stalled a provider for 0.9 s: docs/architecture.md, "Transport fixes").
 */
function queueParts (parts: Iterable<Uint8Array>, queue: Uint8Array[]): number {
  // Left over only if a copy failed (out of memory) in the middle of a message: not for this one.
  run.length = 0
  let total = 0
  let length = 0
  for (const part of parts) {
    total += part.length
    if (part.length >= JOIN_BELOW) {
      flushRun(queue, length)
      length = 0
      queue.push(part)
      continue
    }
    if (length + part.length > JOIN_MAX) {
      flushRun(queue, length)
      length = 0
    }
    run.push(part)
    length += part.length
  }
  flushRun(queue, length)
  return total
}

/** What the transport may hold for a paused stream: the package's largest yamux window and then some. */
const MAX_HELD_WHILE_PAUSED = 24 << 20

/** How long a write waits for the transport to take more before the stream is reset. */
export const WRITE_STALL_MS = 60000

export interface ByteStreamOptions {
  /**
   * Longest wait for a drain: a peer that stops reading but keeps the stream open is then reset
   * (Timeout), so a provider does not hold its store reader and files for it forever.
   * @default WRITE_STALL_MS
   */
  writeStallMs?: number
}

/**
 * A libp2p 3 stream as a ByteStream, with back pressure both ways: writes wait for drain, and
 * reads pause the stream while the consumer is behind, so memory stays bounded whatever the
 * peer sends (libp2p's own async iterator queues without limit).
 */
export function byteStream (stream: Stream, options: ByteStreamOptions = {}): ByteStream {
  const stallMs = options.writeStallMs ?? WRITE_STALL_MS
  // Pausing stops yamux only once the window it already granted has arrived (4 MiB from the
  // muxer made here, up to 16 MiB from one with the package's defaults): the transport's default
  // 4 MiB limit on bytes held while paused would reset the stream before that.
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, MAX_HELD_WHILE_PAUSED)
  const closed = new AbortController()
  if (stream.status !== 'open') closed.abort()
  else stream.addEventListener('close', () => { closed.abort() }, { once: true })
  return {
    source: readSource(stream),
    write: async (bytes: Uint8Array) => {
      if (!stream.send(bytes) && stream.writableNeedsDrain) await drained(stream, stallMs)
    },
    closeWrite: async () => { await stream.close() },
    closeRead: async () => { await stream.closeRead() },
    abort: (err: Error) => { stream.abort(err) },
    closed: closed.signal,
    ...released(stream)
  }
}

/** ByteStream.released, where the stream's transport can tell (transport-fixes/release.ts). */
function released (stream: Stream): Pick<ByteStream, 'released'> {
  const check = releaseCheck(stream)
  return check === undefined ? {} : { released: check }
}

/**
 * Waits for the transport to take more; after `stallMs` without, resets the stream (Timeout).
 * Not `stream.onDrain()`: in @libp2p/utils 7.4.1 its promise is made once and never replaced,
 * so after the first drain it resolves at once and a writer that trusts it queues everything in
 * memory (and the transport then copies it whole).
 */
async function drained (stream: Stream, stallMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => { done(); resolve() }
    const onClose = (evt: { error?: Error }): void => { done(); reject(evt.error ?? new Error('the stream closed while writing')) }
    const timer = setTimeout(() => {
      done()
      const error = new Timeout(`the peer took nothing for ${stallMs} ms`)
      stream.abort(error)
      reject(error)
    }, stallMs)
    const done = (): void => {
      clearTimeout(timer)
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

/**
 * The stream's bytes as an async iterable. Listeners are attached at once, not when iteration
 * starts: an empty request closes its write side right after protocol negotiation, and a
 * 'remoteCloseWrite' event fired before the first next() would otherwise be missed for good.
 */
function readSource (stream: Stream): AsyncIterable<Uint8Array> {
  const queue: Uint8Array[] = []
  let queued = 0
  let ended = stream.remoteWriteStatus === 'closed' || stream.status !== 'open'
  let failure: Error | undefined = stream.status === 'aborted' || stream.status === 'reset' ? new Error(`the stream was ${stream.status}`) : undefined
  let wake: (() => void) | undefined
  const onMessage = (evt: { data: Uint8Array | Iterable<Uint8Array> }): void => {
    const data = evt.data
    if (data instanceof Uint8Array) {
      queue.push(data)
      queued += data.length
    } else {
      queued += queueParts(data, queue)
    }
    // Deferred: this may run inside resume(), which tells the transport to resume only after
    // dispatching, so pausing here at once would be undone and the sender never held back.
    if (queued > HIGH_WATER) queueMicrotask(() => { if (queued > HIGH_WATER && stream.readStatus === 'readable') stream.pause() })
    wake?.()
  }
  const onEnd = (): void => { ended = true; wake?.() }
  // Listeners stay until the reader is done: a stream can close with bytes still held for a
  // paused reader, which resume() then dispatches to them.
  const onClose = (evt: { error?: Error }): void => {
    ended = true
    failure ??= evt.error
    wake?.()
  }
  const detach = (): void => {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('remoteCloseWrite', onEnd)
    stream.removeEventListener('close', onClose)
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('remoteCloseWrite', onEnd)
  stream.addEventListener('close', onClose)
  return (async function * () {
    try {
      while (true) {
        let next = queue.shift()
        if (next !== undefined) {
          // Small pieces waiting together go out as one, copied: a peer writing a byte at a time
          // costs a piece per byte, each maybe a view of a far larger transport buffer.
          if (next.length < COALESCE_BELOW && (queue[0]?.length ?? COALESCE_BELOW) < COALESCE_BELOW) next = gather(next, queue)
          queued -= next.length
          if (queued < LOW_WATER && stream.readStatus === 'paused') stream.resume()
          yield next
          continue
        }
        if (failure !== undefined) throw failure
        // Bytes the transport still holds are dispatched to us in a moment.
        if (ended && stream.readBufferLength === 0) return
        await new Promise<void>(resolve => { wake = resolve })
        wake = undefined
      }
    } finally {
      detach()
    }
  })()
}
