import { MalformedMessage, RequestTooLarge } from '../../protocol/errors.js'
import { encodeFrame } from '../seed/frames.js'

/**
 * `/verity/request/1`, the request plane over libp2p: one request per stream. The requester
 * sends a head, `{ path, headers, length }` as a frame (a 32-bit big-endian byte count, then JSON
 * in UTF-8, as /verity/task/1 frames), then `length` payload bytes, and closes its write side; the
 * answer is a head `{ status, headers }` as a frame, then the body until the stream's end.
 */
export const REQUEST_PROTOCOL = '/verity/request/1'

/** Largest head either side reads. */
export const MAX_HEAD_BYTES = 64 << 10

export { encodeFrame as encodeHead }

/** The head at the start of `source` and the bytes after it, read on demand. */
export async function readHead (source: AsyncIterable<Uint8Array>, maxBytes = MAX_HEAD_BYTES): Promise<{ head: Record<string, unknown>, rest: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]()
  let buffered = new Uint8Array(0)
  const fill = async (n: number): Promise<boolean> => {
    while (buffered.length < n) {
      const next = await iterator.next()
      if (next.done === true) return false
      const joined = new Uint8Array(buffered.length + next.value.length)
      joined.set(buffered, 0)
      joined.set(next.value, buffered.length)
      buffered = joined
    }
    return true
  }
  if (!await fill(4)) throw new MalformedMessage('the stream ended before a head')
  const length = new DataView(buffered.buffer, buffered.byteOffset, 4).getUint32(0)
  if (length > maxBytes) throw new RequestTooLarge('head bytes', length, maxBytes)
  if (!await fill(4 + length)) throw new MalformedMessage(`the stream ended inside a head of ${length} bytes`)
  let head: unknown
  try {
    head = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buffered.subarray(4, 4 + length)))
  } catch (err) {
    throw new MalformedMessage(`a head is not JSON in UTF-8: ${(err as Error).message}`)
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) throw new MalformedMessage('a head must be a JSON object')
  const left = buffered.slice(4 + length)
  async function * rest (): AsyncGenerator<Uint8Array> {
    if (left.length > 0) yield left
    while (true) {
      const next = await iterator.next()
      if (next.done === true) return
      yield next.value
    }
  }
  return { head: head as Record<string, unknown>, rest: rest() }
}

/** Header values must be strings: anything else in a head is MalformedMessage. */
export function headersOf (value: unknown): Record<string, string> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every(v => typeof v === 'string')) {
    throw new MalformedMessage('headers must be an object of strings')
  }
  return value as Record<string, string>
}
