import { HASH_SIZE } from '../store/bao/constants.js'
import { hashArg } from '../store/bao/validate.js'
import { MalformedMessage } from '../store/codec/errors.js'
import { PostcardReader, PostcardWriter } from '../store/codec/postcard.js'
import { toHex } from '../store/hash-text.js'
import { ChunkRanges, MAX_CHUNK } from '../store/ranges/chunk-ranges.js'
import { DEFAULT_REQUEST_LIMITS, RangeBudget, type RequestLimits } from './limits.js'
import { RangeSpecSeq, readRangeSpec, readRangeSpecSeq, writeRangeSpec, writeRangeSpecSeq } from './range-spec.js'

/** The first byte of every request stream (PROTOCOL.md section 5); 2..7 are reserved. */
export const RequestType = { Get: 0, Observe: 1, Push: 8, GetMany: 9 } as const

/** Request bodies (after the type byte) larger than this are refused (the default limit). */
export const MAX_REQUEST_SIZE = DEFAULT_REQUEST_LIMITS.maxRequestSize

/** Which chunks of a blob and, through the HashSeq in it, of its children. */
export interface GetRequest { hash: Uint8Array, ranges: RangeSpecSeq }

export type Request =
  | { type: 'get', request: GetRequest }
  | { type: 'observe', hash: Uint8Array, ranges: ChunkRanges }
  /** Followed on the same stream by exactly what a provider would send for `request`. */
  | { type: 'push', request: GetRequest }
  | { type: 'getMany', hashes: Uint8Array[], ranges: RangeSpecSeq }

export function encodeRequest (request: Request): Uint8Array {
  const writer = new PostcardWriter()
  switch (request.type) {
    case 'get':
      writer.byte(RequestType.Get)
      writeGetRequest(writer, request.request)
      break
    case 'observe':
      writer.byte(RequestType.Observe).bytes(hashArg('hash', request.hash))
      writeRangeSpec(writer, request.ranges)
      break
    case 'push': {
      const inner = new PostcardWriter()
      writeGetRequest(inner, request.request)
      const body = inner.finish()
      writer.byte(RequestType.Push).varint(body.length).bytes(body)
      break
    }
    case 'getMany':
      writer.byte(RequestType.GetMany).varint(request.hashes.length)
      for (const hash of request.hashes) writer.bytes(hashArg('hash', hash))
      writeRangeSpecSeq(writer, request.ranges)
      break
    default: {
      const unknown: never = request
      throw new TypeError(`unknown request ${JSON.stringify(unknown)}`)
    }
  }
  const bytes = writer.finish()
  if (bytes.length - 1 > MAX_REQUEST_SIZE) throw new RangeError(`request body of ${bytes.length - 1} bytes is over ${MAX_REQUEST_SIZE}`)
  return bytes
}

/**
 * Decode one request. Bytes after a complete request are ignored, as iroh does (a requester may
 * send its body and close, and nothing else matters). A failure is a MalformedMessage; a request
 * over `limits` is RequestTooLarge, raised before the parts over the limit are read. `charge`
 * hears what each part will cost in memory before it is decoded (see RangeBudget).
 */
export function decodeRequest (bytes: Uint8Array, limits: Readonly<RequestLimits> = DEFAULT_REQUEST_LIMITS,
  charge?: (bytes: number) => void): { request: Request, length: number } {
  if (bytes.length === 0) throw new MalformedMessage('empty request')
  const type = bytes[0] as number
  const reader = new PostcardReader(bytes.subarray(1, 1 + limits.maxRequestSize))
  const budget = new RangeBudget(limits, charge)
  let request: Request
  switch (type) {
    case RequestType.Get:
      request = { type: 'get', request: readGetRequest(reader, budget) }
      break
    case RequestType.Observe:
      request = { type: 'observe', hash: reader.take(HASH_SIZE).slice(), ranges: readRangeSpec(reader, budget, true) }
      break
    case RequestType.Push: {
      const length = reader.varint(reader.remaining)
      const inner = new PostcardReader(reader.take(length))
      request = { type: 'push', request: readGetRequest(inner, budget) }
      if (inner.remaining !== 0) throw new MalformedMessage(`${inner.remaining} bytes after the pushed GetRequest`)
      break
    }
    case RequestType.GetMany: {
      const count = reader.varint(Math.floor(reader.remaining / HASH_SIZE))
      budget.hashes(count)
      // One copy for all of them, and views into it: a buffer per hash costs far more than 32 bytes.
      const all = reader.take(count * HASH_SIZE).slice()
      const hashes: Uint8Array[] = []
      for (let i = 0; i < count; i++) hashes.push(all.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))
      request = { type: 'getMany', hashes, ranges: readRangeSpecSeq(reader, budget) }
      break
    }
    default:
      throw new MalformedMessage(type >= 2 && type <= 7 ? `reserved request type ${type}` : `unknown request type ${type}`)
  }
  return { request, length: 1 + reader.offset }
}

/** A request in one short line for logs: the kind, the hash's first 12 hex digits, the root's ranges (at most 60 characters). */
export function describeRequest (request: Request): string {
  const short = (hash: Uint8Array): string => toHex(hash).slice(0, 12)
  const clip = (text: string): string => text.length > 60 ? `${text.slice(0, 59)}…` : text
  switch (request.type) {
    case 'get':
    case 'push': {
      const { hash, ranges } = request.request
      const children = ranges.end() > 1 ? (ranges.end() === Infinity ? ', all children' : `, children up to ${ranges.end() - 1}`) : ''
      return `${request.type} ${short(hash)} ${clip(ranges.at(0).toString())}${children}`
    }
    case 'observe': return `observe ${short(request.hash)} ${clip(request.ranges.toString())}`
    case 'getMany': return `getMany of ${request.hashes.length} blobs${request.hashes[0] === undefined ? '' : `, first ${short(request.hashes[0])}`}`
    default: {
      const unknown: never = request
      throw new TypeError(`unknown request ${JSON.stringify(unknown)}`)
    }
  }
}

function writeGetRequest (writer: PostcardWriter, request: GetRequest): void {
  writer.bytes(hashArg('hash', request.hash))
  writeRangeSpecSeq(writer, request.ranges)
}

function readGetRequest (reader: PostcardReader, budget: RangeBudget): GetRequest {
  return { hash: reader.take(HASH_SIZE).slice(), ranges: readRangeSpecSeq(reader, budget) }
}

/** One Observe message: the blob's size and its present chunks (absolute boundaries). */
export interface ObserveItem { size: number, ranges: ChunkRanges }

/** `varint(len) varint(size) varint(count) boundaries...` */
export function encodeObserveItem (item: ObserveItem): Uint8Array {
  const body = new PostcardWriter().varint(item.size).varint(item.ranges.boundaries.length)
  for (const b of item.ranges.boundaries) body.varint(b === MAX_CHUNK ? (1n << 64n) - 1n : b)
  const bytes = body.finish()
  return new PostcardWriter().varint(bytes.length).bytes(bytes).finish()
}

/** Decodes the body of one Observe message (after its length prefix). */
export function decodeObserveItem (body: Uint8Array): ObserveItem {
  const reader = new PostcardReader(body)
  const size = reader.varint()
  const count = reader.varint(reader.remaining)
  const boundaries: number[] = []
  for (let i = 0; i < count; i++) {
    const value = reader.bigVarint()
    boundaries.push(value >= BigInt(MAX_CHUNK) ? MAX_CHUNK : Number(value))
  }
  if (reader.remaining !== 0) throw new MalformedMessage(`${reader.remaining} bytes after the Observe message`)
  return { size, ranges: ChunkRanges.fromBoundaries(boundaries) }
}
