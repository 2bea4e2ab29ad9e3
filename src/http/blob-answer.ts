import { create as contentDisposition } from 'content-disposition'
import { toHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { type Answer, type Ask, BAO_TYPE, queryOf, textAnswer, wantsBao } from './answer.js'
import { SNIFF_BYTES, sniffType, typeByName, typeHeaders } from './content-type.js'
import { OnDemand } from './on-demand.js'
import { parseRange } from './range.js'

export interface BlobAnswerOptions {
  /** Headers that go out with every answer that has the blob. */
  headers?: Record<string, string>
  /** The blob's file name (in a collection): its Content-Type, and its name on `?download`. */
  name?: string
}

/**
 * A blob's answer, however it was asked: one byte range (Range, 206, 416), the hash as ETag
 * (If-None-Match, 304), immutable caching; what is missing is fetched on demand from `providers`
 * (404 when no provider has it, 502 when they did not deliver the part asked for). Only verified
 * bytes leave: the store's reader checks every group against the hash tree.
 *
 * HEAD fetches what GET would and answers with GET's status: 200 (or 206) only when the bytes
 * are here, so a HEAD that says 200 is never followed by a GET that says 502. (HEAD of a large
 * blob not here costs its fetch; the bytes are kept, and the GET after it is served from here.)
 *
 * Content-Type: from `name`'s extension (or `?filename=`'s), else sniffed from the blob's first
 * chunk (content-type.ts), which is then fetched too; `X-Content-Type-Options: nosniff` always.
 * `?download` or `?filename=<name>` asks for an attachment (Content-Disposition).
 *
 * With `Accept: application/x-bao` the body is the encoded range stream of PROTOCOL.md section 4
 * for the chunks under the range (the size header, the parent pairs, the groups), which the
 * asker verifies against the hash itself; `x-verity-content-range` then says which bytes of the
 * blob it proves (`bytes <first>-<last>/<size>`, as Content-Range would) and `x-verity-size` the
 * blob's size.
 */
export async function blobAnswer (node: VerityNode, providers: PeerTarget[], hash: Uint8Array, ask: Ask, options: BlobAnswerOptions = {}): Promise<Answer> {
  const hex = toHex(hash)
  const etag = `"${hex}"`
  const bao = wantsBao(ask.headers.accept)
  const query = queryOf(ask.url)
  const given = query.get('filename')
  const filename = given === null || given === '' ? undefined : given.split(/[/\\]/).pop() as string
  const name = filename ?? options.name?.split('/').pop()
  const headers: Record<string, string> = { etag, 'cache-control': 'public, max-age=31536000, immutable', 'accept-ranges': 'bytes', vary: 'accept', ...options.headers }
  if (bao) delete headers.etag // the same ETag for two representations would let a cache mix them up
  if (!bao && (ask.headers['if-none-match'] ?? '').split(',').map(t => t.trim()).some(t => t === etag || t === '*' || t === `W/${etag}`)) {
    return { status: 304, headers }
  }
  const fetching = new OnDemand(node.blobs, node.downloader, providers, hash, ask.signal)
  if (!await fetching.size()) {
    return textAnswer(404, `${hex} is not here${providers.length > 0 ? ` and no provider delivered it${fetching.why}` : ''}\n`)
  }
  const size = (await node.blobs.bitfield(hash)).size
  const range = parseRange(ask.headers.range, size)
  if (range === 'unsatisfiable') return textAnswer(416, 'range not satisfiable\n', { ...headers, 'content-range': `bytes */${size}` })
  const { start, end } = range ?? { start: 0, end: size }
  const partial = range !== undefined
  const chunks = ChunkRanges.fromByteRange(start, end)
  const named = bao ? BAO_TYPE : name === undefined ? undefined : typeByName(name)
  // HEAD and GET alike: the chunks under the bytes, and the first chunk when the type is sniffed.
  const needed = named === undefined && size > 0 ? chunks.union(ChunkRanges.chunk(0)) : chunks
  if (!needed.isEmpty() && !await fetching.ensure(needed)) {
    return textAnswer(502, `bytes ${start}..${end} of ${hex} are not all here and the providers did not deliver them${fetching.why}\n`)
  }
  const status = partial ? 206 : 200
  const proves = `bytes ${start}-${Math.max(start, end - 1)}/${size}`
  if (bao) {
    return {
      status,
      headers: { ...headers, ...typeHeaders(BAO_TYPE), 'x-verity-size': String(size), 'x-verity-content-range': proves },
      body: node.blobs.exportBao(hash, chunks, { signal: ask.signal })
    }
  }
  const type = named ?? sniffType(await firstBytes(node, hash, Math.min(size, SNIFF_BYTES), ask.signal))
  const download = query.has('download') || filename !== undefined
  return {
    status,
    headers: {
      ...headers,
      ...typeHeaders(type),
      ...(download ? { 'content-disposition': contentDisposition(name) } : {}),
      'content-length': String(end - start),
      ...(partial ? { 'content-range': `bytes ${start}-${end - 1}/${size}` } : {})
    },
    ...(end === start ? {} : { body: node.blobs.reader(hash, { offset: start, length: end - start, signal: ask.signal }) })
  }
}

/** The first `length` bytes of the blob, verified (they are here: ensured above). */
async function firstBytes (node: VerityNode, hash: Uint8Array, length: number, signal: AbortSignal): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0)
  const parts: Uint8Array[] = []
  for await (const part of node.blobs.reader(hash, { offset: 0, length, signal })) parts.push(part)
  return Buffer.concat(parts)
}
