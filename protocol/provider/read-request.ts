import { MalformedMessage, RequestTooLarge, Timeout } from '../errors.js'
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from '../limits.js'
import { decodeRequest, RequestType, type Request } from '../request.js'
import { readVarint } from '../../store/codec/varint.js'
import type { ByteBudget } from './admission.js'

export interface ReadRequestOptions {
  /** @default DEFAULT_REQUEST_LIMITS */
  limits?: Readonly<RequestLimits>
  /** @default 30000 */
  timeoutMs?: number
  /**
   * Bytes of requests held across the node: the request's bytes are taken from it as they arrive
   * and given back by `release` (or at once when reading fails).
   */
  budget?: ByteBudget
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
  const parts: Uint8Array[] = []
  let total = 0
  let pushNeeds = 2 // bytes a push must have before it is worth parsing again
  let taken = 0 // bytes taken from the budget
  let done = false
  const release = (): void => {
    options.budget?.give(taken)
    taken = 0
  }
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Timeout(`no complete request within ${timeoutMs} ms`)), timeoutMs)
  })
  const aborted = new Promise<never>((_resolve, reject) => {
    options.signal?.addEventListener('abort', () => reject(new MalformedMessage('the stream closed before a complete request')), { once: true })
  })
  timeout.catch(() => {})
  aborted.catch(() => {})
  try {
    while (true) {
      const next = await Promise.race([iterator.next(), timeout, aborted])
      if (next.done === true) break
      // A request's bytes count against the node's budget until it is released.
      const held = Math.max(0, Math.min(next.value.length, 2 + maxSize - total))
      options.budget?.take(held)
      taken += held
      parts.push(next.value)
      total += next.value.length
      if (total > 1 + maxSize && parts[0]?.[0] !== RequestType.Push) throw tooLarge(total - 1, maxSize)
      if (parts[0]?.[0] === RequestType.Push && total >= pushNeeds) {
        const push = tryPush(concat(parts, total), limits)
        if (typeof push === 'number') {
          pushNeeds = push
        } else {
          const leftover = push.leftover
          done = true
          return {
            request: push.request,
            release,
            bytesRead: total - leftover.length,
            rest: (async function * () {
              if (leftover.length > 0) yield leftover
              while (true) {
                const more = await iterator.next()
                if (more.done === true) return
                yield more.value
              }
            })()
          }
        }
      }
      if (total > 1 + maxSize) throw tooLarge(total - 1, maxSize)
    }
    const { request } = decodeRequest(concat(parts, total), limits)
    done = true
    return { request, release, bytesRead: total, rest: (async function * () {})() }
  } finally {
    clearTimeout(timer)
    if (!done) release()
  }
}

function tooLarge (size: number, max: number): RequestTooLarge {
  return new RequestTooLarge('maxRequestSize', size, max, `request body over ${max} bytes`)
}

/** A push whose GetRequest has fully arrived, with the bytes after it; else how many bytes it needs. */
function tryPush (bytes: Uint8Array, limits: Readonly<RequestLimits>): { request: Request, leftover: Uint8Array } | number {
  const read = readVarint(bytes, 1, 'push length', 5)
  if (read === undefined) return bytes.length + 1 // ends inside the length: one more byte, at least
  const length = Number(read.value)
  if (read.value > BigInt(limits.maxRequestSize)) throw tooLarge(length, limits.maxRequestSize)
  const end = read.next + length
  if (bytes.length < end) return end
  const { request } = decodeRequest(bytes.subarray(0, end), limits)
  return { request, leftover: bytes.subarray(end) }
}

function concat (parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array
  const out = new Uint8Array(total)
  let at = 0
  for (const part of parts) { out.set(part, at); at += part.length }
  parts.splice(0, parts.length, out)
  return out
}
