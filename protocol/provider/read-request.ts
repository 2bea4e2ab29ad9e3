import { MalformedMessage, RequestTooLarge, Timeout } from '../errors.js'
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from '../limits.js'
import { decodeRequest, RequestType, type Request } from '../request.js'
import { readVarint } from '../../store/codec/varint.js'
import { untilAborted } from '../../store/abort.js'


export interface ReadRequestOptions {
  /** @default DEFAULT_REQUEST_LIMITS */
  limits?: Readonly<RequestLimits>
  /** @default 30000 */
  timeoutMs?: number
  /**
   * Bytes of requests held across the node: the request's bytes are taken from it as they arrive
   * and given back by `release` (or at once when reading fails).
   */
  budget?: { take: (n: number) => void, give: (n: number) => void }
  signal?: AbortSignal
}

export interface ReceivedRequest {
  request: Request
  /** Request bytes read (a push's data is counted by its reader). */
  bytesRead: number
  /** What follows the request on the stream: a push's data; empty for the other kinds. */
  rest: AsyncIterable<Uint8Array>
  /**
   * Give the request's bytes back to the budget: call it when the request is done with. A decoded
   * request costs memory in proportion to its bytes, so it counts until then, waiting or served.
   */
  release: () => void
}

/**
 * Read one request from a stream. Get, GetMany and Observe are read to the end of the stream, as
 * iroh does (bytes after a complete request are ignored); a Push is read up to the end of its
 * length-prefixed GetRequest, and the rest of the stream is its data. A body over the size limit
 * fails at once with RequestTooLarge without reading further, as does a request over the other
 * limits once decoded; a request not complete within `timeoutMs` fails with Timeout. The bytes
 * held are taken from `budget` and given back by the result's `release`, or when reading fails.
 */
export async function readRequest (source: AsyncIterable<Uint8Array>, options: ReadRequestOptions = {}): Promise<ReceivedRequest> {
  const limits = options.limits ?? DEFAULT_REQUEST_LIMITS
  const maxSize = limits.maxRequestSize
  const timeoutMs = options.timeoutMs ?? 30000
  const iterator = source[Symbol.asyncIterator]()
  // The request's bytes are copied into a buffer of its own, never kept as the pieces that came:
  // a piece may be a view of a much larger transport buffer (one byte per write held gigabytes).
  const bytes = new Growing(2 + maxSize)
  let pushNeeds = 2 // bytes a push must have before it is worth parsing again
  let taken = 0 // bytes taken from the budget
  let done = false
  const take = (n: number): void => { options.budget?.take(n); taken += n }
  const release = (): void => {
    options.budget?.give(taken)
    taken = 0
  }
  // One signal for both ends of the wait, listened to read by read. Not Promise.race against
  // promises that stay pending: each race leaves a reaction on them holding the piece it resolved
  // with, so a request sent a byte per write held every piece (and the transport buffer under it).
  const timedOut = new AbortController()
  const timer = setTimeout(() => { timedOut.abort(new Timeout(`no complete request within ${timeoutMs} ms`)) }, timeoutMs)
  const closed = new AbortController()
  const onClosed = (): void => { closed.abort(new MalformedMessage('the stream closed before a complete request')) }
  if (options.signal?.aborted === true) onClosed()
  else options.signal?.addEventListener('abort', onClosed, { once: true })
  const waiting = AbortSignal.any([timedOut.signal, closed.signal])
  /** Bytes read past a complete request are ignored: they need not count any more. */
  let raw = 0
  const keepOnly = (length: number): void => {
    const extra = Math.max(0, raw - length)
    options.budget?.give(extra)
    taken -= extra
  }
  try {
    while (true) {
      const next = await untilAborted(iterator.next(), waiting)
      if (next.done === true) break
      const piece = next.value
      const kept = bytes.append(piece)
      take(kept)
      raw += kept
      const extra = piece.subarray(kept) // past the most a request may be
      const isPush = bytes.view()[0] === RequestType.Push
      if (!isPush && (extra.length > 0 || bytes.length > 1 + maxSize)) throw tooLarge(bytes.length + extra.length - 1, maxSize)
      if (isPush && bytes.length >= pushNeeds) {
        const push = tryPush(bytes.view(), limits, take)
        if (typeof push === 'number') {
          pushNeeds = push
          if (extra.length > 0) throw tooLarge(bytes.length + extra.length - 1, maxSize)
        } else {
          const leftover = [push.leftover.slice(), extra].filter(part => part.length > 0)
          keepOnly(push.length)
          done = true
          return {
            request: push.request,
            release,
            bytesRead: push.length,
            rest: (async function * () {
              yield * leftover
              while (true) {
                const more = await iterator.next()
                if (more.done === true) return
                yield more.value
              }
            })()
          }
        }
      }
    }
    // Decoding takes what each part will cost decoded from the budget, before it is decoded.
    const { request, length } = decodeRequest(bytes.view(), limits, take)
    keepOnly(length)
    done = true
    return { request, release, bytesRead: bytes.length, rest: (async function * () {})() }
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onClosed)
    if (!done) release()
  }
}

/** Bytes appended into one buffer that grows by doubling, up to `max`. */
class Growing {
  private buffer = new Uint8Array(256)
  length = 0

  constructor (private readonly max: number) {}

  /** Copy as much of `piece` as fits under `max`; returns how many bytes were taken. */
  append (piece: Uint8Array): number {
    const take = Math.min(piece.length, this.max - this.length)
    if (this.length + take > this.buffer.length) {
      const grown = new Uint8Array(Math.min(this.max, Math.max(this.buffer.length * 2, this.length + take)))
      grown.set(this.buffer.subarray(0, this.length))
      this.buffer = grown
    }
    this.buffer.set(piece.subarray(0, take), this.length)
    this.length += take
    return take
  }

  view (): Uint8Array {
    return this.buffer.subarray(0, this.length)
  }
}

function tooLarge (size: number, max: number): RequestTooLarge {
  return new RequestTooLarge('maxRequestSize', size, max, `request body over ${max} bytes`)
}

/** A push whose GetRequest has fully arrived, with the bytes after it; else how many bytes it needs. */
function tryPush (bytes: Uint8Array, limits: Readonly<RequestLimits>, charge: (bytes: number) => void): { request: Request, length: number, leftover: Uint8Array } | number {
  const read = readVarint(bytes, 1, 'push length', 5)
  if (read === undefined) return bytes.length + 1 // ends inside the length: one more byte, at least
  const length = Number(read.value)
  if (read.value > BigInt(limits.maxRequestSize)) throw tooLarge(length, limits.maxRequestSize)
  const end = read.next + length
  if (bytes.length < end) return end
  const { request } = decodeRequest(bytes.subarray(0, end), limits, charge)
  return { request, length: end, leftover: bytes.subarray(end) }
}
