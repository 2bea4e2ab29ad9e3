import { create as contentDisposition } from 'content-disposition'
import { toHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { type Answer, type Ask, BAO_TYPE, textAnswer, wantsBao } from './answer.js'
import { OnDemand } from './on-demand.js'
import { parseRange } from './range.js'

/**
 * A blob's answer, however it was asked: one byte range (Range, 206, 416), the hash as ETag
 * (If-None-Match, 304), immutable caching; what is missing is fetched on demand from `providers`
 * (404 when no provider has it, 502 when they did not deliver the part asked for). Only verified
 * bytes leave: the store's reader checks every group against the hash tree.
 *
 * With `Accept: application/x-bao` the body is the encoded range stream of PROTOCOL.md section 4
 * for the chunks under the range (the size header, the parent pairs, the groups), which the
 * asker verifies against the hash itself; `x-verity-content-range` then says which bytes of the
 * blob it proves (`bytes <first>-<last>/<size>`, as Content-Range would) and `x-verity-size` the
 * blob's size. `extra` headers go out with every answer that has the blob.
 */
export async function blobAnswer (node: VerityNode, providers: PeerTarget[], hash: Uint8Array, ask: Ask, extra: Record<string, string> = {}): Promise<Answer> {
  const hex = toHex(hash)
  const etag = `"${hex}"`
  const bao = wantsBao(ask.headers.accept)
  const headers: Record<string, string> = { etag, 'cache-control': 'public, max-age=31536000, immutable', 'accept-ranges': 'bytes', vary: 'accept', ...extra }
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
  // HEAD needs the size only; a GET, the chunks under its bytes (a blob part here is served as is).
  if (ask.method !== 'HEAD' && end > start && !await fetching.ensure(chunks)) {
    return textAnswer(502, `bytes ${start}..${end} of ${hex} are not all here and the providers did not deliver them${fetching.why}\n`)
  }
  const status = partial ? 206 : 200
  const proves = `bytes ${start}-${Math.max(start, end - 1)}/${size}`
  if (bao) {
    return {
      status,
      headers: { ...headers, 'content-type': BAO_TYPE, 'x-verity-size': String(size), 'x-verity-content-range': proves },
      body: node.blobs.exportBao(hash, chunks, { signal: ask.signal })
    }
  }
  return {
    status,
    headers: {
      ...headers,
      'content-type': 'application/octet-stream',
      ...attachment(ask.url),
      'content-length': String(end - start),
      ...(partial ? { 'content-range': `bytes ${start}-${end - 1}/${size}` } : {})
    },
    ...(end === start ? {} : { body: node.blobs.reader(hash, { offset: start, length: end - start, signal: ask.signal }) })
  }
}

/**
 * `?filename=report.pdf` asks the browser to save the blob under that name (RFC 6266, with an
 * ASCII fallback and the exact name, through jshttp's content-disposition). Only the last part
 * of a path given counts.
 */
function attachment (url: string): Record<string, string> {
  const name = new URLSearchParams(url.split('?')[1] ?? '').get('filename')
  if (name === null || name === '') return {}
  return { 'content-disposition': contentDisposition(name.split(/[/\\]/).pop() as string) }
}
