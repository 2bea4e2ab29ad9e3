import type { IncomingMessage, ServerResponse } from 'node:http'
import { create as contentDisposition } from 'content-disposition'
import { fromHex, toHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { writeDrained } from '../net/writable.js'
import type { GatewayMetrics } from './metrics.js'
import { OnDemand } from './on-demand.js'
import { parseRange } from './range.js'

/** How the blob route answers without a body of bytes: a status, a text, some headers. */
export type Reply = (status: number, body: string, headers?: Record<string, string>) => void

/**
 * `GET`/`HEAD /blob/<hash>[?filename=name]`: one byte range (Range, 206, 416), the hash as ETag
 * (If-None-Match, 304), immutable caching; what is missing is fetched on demand from
 * `providers` (404 when no provider has it, 502 when they did not deliver the part asked for).
 * Only verified bytes leave: the store's reader checks every group against the hash tree. A
 * client gone, or taking nothing for `stallMs`, ends the body and the reader closes its files.
 */
export async function serveBlob (node: VerityNode, metrics: GatewayMetrics, providers: PeerTarget[], stallMs: number,
  req: IncomingMessage, res: ServerResponse, reply: Reply): Promise<void> {
  let hash: Uint8Array
  try {
    hash = fromHex((req.url ?? '').split('?')[0]?.slice('/blob/'.length) ?? '')
  } catch {
    return reply(400, 'a blob is named by 64 hex digits\n')
  }
  await sendBlob(node, metrics, providers, stallMs, hash, req, res, reply)
}

/**
 * The body of `/blob/<hash>` for a hash already parsed (also how `/tasks` sends a task's blob):
 * Range, ETag, HEAD, on-demand fetching from `providers`, verified bytes only. `extra` headers go
 * out with every answer that has the blob.
 */
export async function sendBlob (node: VerityNode, metrics: GatewayMetrics, providers: PeerTarget[], stallMs: number, hash: Uint8Array,
  req: IncomingMessage, res: ServerResponse, reply: Reply, extra: Record<string, string> = {}, route = 'blob'): Promise<void> {
  const hex = toHex(hash)
  const etag = `"${hex}"`
  const headers = { etag, 'cache-control': 'public, max-age=31536000, immutable', 'accept-ranges': 'bytes', ...extra }
  if ((req.headers['if-none-match'] ?? '').split(',').map(t => t.trim()).some(t => t === etag || t === '*' || t === `W/${etag}`)) {
    res.writeHead(304, headers).end()
    metrics.countHttp(route, 304)
    return
  }
  const controller = new AbortController()
  res.once('close', () => { if (!res.writableFinished) controller.abort(new Error('the HTTP client went away')) })
  const fetching = new OnDemand(node.blobs, node.downloader, providers, hash, controller.signal)
  if (!await fetching.size()) {
    return reply(404, `${hex} is not here${providers.length > 0 ? ` and no provider delivered it${fetching.why}` : ''}\n`)
  }
  const size = (await node.blobs.bitfield(hash)).size
  const range = parseRange(req.headers.range, size)
  if (range === 'unsatisfiable') return reply(416, 'range not satisfiable\n', { ...headers, 'content-range': `bytes */${size}` })
  const { start, end } = range ?? { start: 0, end: size }
  const partial = range !== undefined
  // HEAD needs the size only; a GET, the chunks under its bytes (a blob part here is served as is).
  if (req.method !== 'HEAD' && end > start && !await fetching.ensure(ChunkRanges.fromByteRange(start, end))) {
    return reply(502, `bytes ${start}..${end} of ${hex} are not all here and the providers did not deliver them${fetching.why}\n`)
  }
  res.writeHead(partial ? 206 : 200, {
    ...headers,
    'content-type': 'application/octet-stream',
    ...attachment(req.url ?? ''),
    'content-length': String(end - start),
    ...(partial ? { 'content-range': `bytes ${start}-${end - 1}/${size}` } : {})
  })
  metrics.countHttp(route, partial ? 206 : 200)
  if (req.method === 'HEAD' || end === start) { res.end(); return }
  // A client gone (reset, closed) or taking nothing for stallMs ends the loop with an error, and
  // leaving the loop closes the reader and its files (a bare wait for 'drain' would hang on to them).
  const body = node.blobs.reader(hash, { offset: start, length: end - start, signal: controller.signal })
  for await (const bytes of body) {
    await writeDrained(res, bytes, { stallMs, signal: controller.signal })
    metrics.countHttpBytes(bytes.length)
  }
  res.end()
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
