import { decodeRanges } from '../../store/bao/decode.js'
import { fromHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { BAO_TYPE } from '../http/answer.js'
import { parseRange } from '../http/range.js'
import { SeedAnswerInvalid } from './errors.js'
import type { RequestHeaders, StreamResponse } from './interface.js'

/** A seed's answer to `/tasks` as the caller sees it: the bytes `start..end` of the blob, verified when asked. */
export interface ReadAnswer {
  /** The seed that sent it. */
  seed: string
  status: number
  /** As the plain answer would have them (content-length, content-range, x-verity-hash...), whichever was sent. */
  headers: RequestHeaders
  /** The blob's hash (hex), as the seed named it; '' from a seed that does not, without verification. */
  hash: string
  size: number
  start: number
  end: number
  /** The bytes of `start..end` as they arrive: decoded and checked against `hash` group by group when verified. */
  body: AsyncIterable<Uint8Array>
}

/** Headers of the encoded answer that do not describe the bytes the caller gets. */
const ENCODING_HEADERS = new Set(['content-type', 'content-length', 'x-verity-content-range', 'x-verity-size', 'vary', 'transfer-encoding'])

/**
 * The caller's view of `response`, a seed's answer of 200 or 206 to a `/tasks` get whose Range
 * header was `range`: with `verify`, the seed must have sent the encoded range stream
 * (`application/x-bao`) for exactly the bytes that Range names, and every group is checked
 * against the hash before its bytes are handed on (LeafHashMismatch, ParentHashMismatch,
 * UnexpectedEnd at the first bad or missing byte); without, the bytes as sent, counted against
 * their length. SeedAnswerInvalid when the answer is not what was asked or names another blob
 * than `expect` (a hash the caller pinned, or the one a first seed named).
 */
export function readAnswer (seed: string, response: StreamResponse, range: string | undefined, verify: boolean, expect?: { hash?: string, size?: number }): ReadAnswer {
  const headers = response.headers
  // A 3xx, a 2xx of another meaning, a status that is no number (over libp2p the head is the seed's JSON): not the bytes asked for.
  if (response.status !== 200 && response.status !== 206) throw new SeedAnswerInvalid(seed, `it answered ${response.status}, not 200 or 206`)
  // Verifying needs the hash; plain bytes may come from a seed that does not name it (then a resumed body is not checked for being the same blob).
  const hash = headers['x-verity-hash'] ?? ''
  if ((verify || hash !== '') && !/^[0-9a-f]{64}$/.test(hash)) throw new SeedAnswerInvalid(seed, 'no x-verity-hash naming the blob')
  if (expect?.hash !== undefined && (verify || hash !== '') && expect.hash !== hash) throw new SeedAnswerInvalid(seed, `it names blob ${hash}, not ${expect.hash} (the origin's file changed, or the seed is wrong)`, { otherBlob: true })
  const encoded = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === BAO_TYPE
  if (verify && !encoded) throw new SeedAnswerInvalid(seed, `verification needs ${BAO_TYPE}, it sent ${headers['content-type'] ?? 'no content type'} (a seed older than the SDK, or a proxy in between)`)
  const served = encoded ? provenRange(seed, headers) : plainRange(seed, response.status, headers)
  // Not this seed's fault alone: the origin's file may have changed (plain bytes), or the seed before lied (a verified group proves the size only when it is the blob's last).
  if (expect?.size !== undefined && expect.size !== served.size) throw new SeedAnswerInvalid(seed, `the blob has ${served.size} bytes there, ${expect.size} before`, { otherBlob: true })
  const asked = parseRange(range, served.size)
  const want = asked === undefined ? { start: 0, end: served.size } : asked === 'unsatisfiable' ? { start: 0, end: 0 } : asked
  if (want.start !== served.start || want.end !== served.end) throw new SeedAnswerInvalid(seed, `it sent bytes ${served.start}..${served.end} for ${range ?? 'the whole blob'}`)
  const { start, end, size } = served
  const length = end - start
  const out: RequestHeaders = {}
  for (const [name, value] of Object.entries(headers)) if (!ENCODING_HEADERS.has(name)) out[name] = value
  out['content-type'] = 'application/octet-stream'
  out['content-length'] = String(length)
  if (response.status === 206) out['content-range'] = `bytes ${start}-${end - 1}/${size}`
  const body = encoded ? decoded(seed, response.body, hash, size, start, end) : counted(seed, response.body, length)
  return { seed, status: response.status, headers: out, hash, size, start, end, body }
}

/**
 * A seed's 304 to a conditional get (the caller's If-None-Match): no bytes, the seed's word that
 * the caller's copy is current (nothing to verify); the body is read to its end, which must be empty.
 */
export function notModified (seed: string, response: StreamResponse): ReadAnswer {
  return { seed, status: 304, headers: response.headers, hash: response.headers['x-verity-hash'] ?? '', size: 0, start: 0, end: 0, body: counted(seed, response.body, 0) }
}

function provenRange (seed: string, headers: RequestHeaders): { start: number, end: number, size: number } {
  const size = Number(headers['x-verity-size'])
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers['x-verity-content-range'] ?? '')
  if (!Number.isSafeInteger(size) || size < 0 || match === null || Number(match[3]) !== size) throw new SeedAnswerInvalid(seed, 'x-verity-size and x-verity-content-range do not name a range of the blob')
  const start = Number(match[1])
  // `bytes 0-0/0` is how an empty blob's whole is written.
  const end = size === 0 ? 0 : Number(match[2]) + 1
  if (end < start || end > size) throw new SeedAnswerInvalid(seed, `x-verity-content-range ${String(headers['x-verity-content-range'])} is not inside ${size} bytes`)
  return { start, end, size }
}

function plainRange (seed: string, status: number, headers: RequestHeaders): { start: number, end: number, size: number } {
  const length = Number(headers['content-length'])
  if (status === 200) {
    if (!Number.isSafeInteger(length) || length < 0) throw new SeedAnswerInvalid(seed, 'no content-length')
    return { start: 0, end: length, size: length }
  }
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers['content-range'] ?? '')
  if (match === null) throw new SeedAnswerInvalid(seed, `a ${status} without a content-range of one range`)
  return { start: Number(match[1]), end: Number(match[2]) + 1, size: Number(match[3]) }
}

/** The verified bytes of `start..end`: the encoded stream decoded against `hash`, leaves cut to the range. */
async function * decoded (seed: string, source: AsyncIterable<Uint8Array>, hash: string, size: number, start: number, end: number): AsyncGenerator<Uint8Array> {
  let at = start
  for await (const item of decodeRanges(fromHex(hash), ChunkRanges.fromByteRange(start, end), source)) {
    if (item.type === 'size') {
      if (item.size !== size) throw new SeedAnswerInvalid(seed, `the encoding says ${item.size} bytes, x-verity-size ${size}`)
      continue
    }
    if (item.type !== 'leaf') continue
    const from = Math.max(at, item.offset)
    const to = Math.min(end, item.offset + item.data.length)
    if (to > from) {
      yield item.data.subarray(from - item.offset, to - item.offset)
      at = to
    }
  }
  if (at !== end) throw new SeedAnswerInvalid(seed, `the encoding ended at byte ${at} of ${start}..${end}`)
}

/** The plain bytes, at most `length` of them and not fewer (a seed that dies mid-body is seen as such). */
async function * counted (seed: string, source: AsyncIterable<Uint8Array>, length: number): AsyncGenerator<Uint8Array> {
  let got = 0
  for await (const part of source) {
    got += part.length
    if (got > length) throw new SeedAnswerInvalid(seed, `more than the ${length} bytes it announced`)
    yield part
  }
  if (got < length) throw new SeedAnswerInvalid(seed, `the body ended after ${got} of ${length} bytes`)
}
