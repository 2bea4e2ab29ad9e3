import type { IncomingMessage, ServerResponse } from 'node:http'
import { RangeSpecSeq } from '../protocol/range-spec.js'
import { isDiskError } from '../store/disk-errors.js'
import { fromHex, toHex } from '../store/hash-text.js'
import { ChunkRanges } from '../store/ranges/chunk-ranges.js'
import type { VerityNode } from './node/create-node.js'
import { coverage } from '../store/ranges/coverage.js'
import type { PeerTarget } from './net/peer.js'
import { writeDrained } from './net/writable.js'
import type { GatewayMetrics } from './metrics.js'

/** A client that takes no body bytes for this long is dropped (its reader and files with it). */
export const BODY_STALL_MS = 60000

export interface GatewayOptions {
  /** @default BODY_STALL_MS */
  bodyStallMs?: number
}

/** One byte range of a blob of `size` bytes from a Range header; undefined: the whole blob. */
export function parseRange (header: string | undefined, size: number): { start: number, end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null || (match[1] === '' && match[2] === '')) return undefined // not one range we read: send it whole
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size }
  }
  const start = Number(match[1])
  const end = match[2] === '' ? size : Math.min(size, Number(match[2]) + 1)
  if (start >= size || end <= start) return 'unsatisfiable'
  return { start, end }
}

/**
 * The HTTP side of `verity serve`: `GET /blob/<hash>[?filename=name]` (Range, If-None-Match, HEAD), fetching from
 * `providers` just the chunks a request needs that are not here; `/metrics` in Prometheus text; `/health`.
 * Only verified bytes leave: the store's reader checks every group against the hash tree.
 */
export function gatewayHandler (node: VerityNode, metrics: GatewayMetrics, providers: PeerTarget[] = [], options: GatewayOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const stallMs = options.bodyStallMs ?? BODY_STALL_MS
  return (req, res) => {
    const route = routeOf(req.url ?? '/')
    serve(node, metrics, providers, stallMs, req, res, route).catch((err: Error) => {
      if (!res.headersSent) {
        const status = statusOf(err)
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${err.name}: ${err.message}\n`)
        metrics.countHttp(route, status)
      } else {
        res.destroy(err) // mid-body: the client sees a short response, never unverified bytes
      }
    })
  }
}

/**
 * The status of a request that failed before its body began: 507 Insufficient Storage when the
 * store cannot keep what an on-demand fetch brings (a full or read-only disk), else 500.
 */
function statusOf (err: Error): number {
  return err.name === 'StoreFull' || err.name === 'StoreReadOnly' ? 507 : 500
}

function routeOf (url: string): string {
  const path = url.split('?')[0] as string
  if (path.startsWith('/blob/')) return 'blob'
  if (path === '/metrics' || path === '/health') return path.slice(1)
  return 'other'
}

async function serve (node: VerityNode, metrics: GatewayMetrics, providers: PeerTarget[], stallMs: number, req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
  const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(req.method === 'HEAD' ? undefined : body)
    metrics.countHttp(route, status)
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'GET or HEAD only\n', { allow: 'GET, HEAD' })
  if (route === 'health') return reply(200, JSON.stringify({ status: 'ok', peerId: node.peerId }) + '\n', { 'content-type': 'application/json' })
  if (route === 'metrics') return reply(200, await metrics.text(), { 'content-type': metrics.contentType })
  if (route !== 'blob') return reply(404, 'not found: try /blob/<hash>, /metrics or /health\n')

  let hash: Uint8Array
  try {
    hash = fromHex((req.url ?? '').split('?')[0]?.slice('/blob/'.length) ?? '')
  } catch {
    return reply(400, 'a blob is named by 64 hex digits\n')
  }
  const hex = toHex(hash)
  const etag = `"${hex}"`
  const headers = { etag, 'cache-control': 'public, max-age=31536000, immutable', 'accept-ranges': 'bytes' }
  if ((req.headers['if-none-match'] ?? '').split(',').map(t => t.trim()).some(t => t === etag || t === '*' || t === `W/${etag}`)) {
    res.writeHead(304, headers).end()
    metrics.countHttp(route, 304)
    return
  }
  // Fetch only what this request needs: the size proof (the last chunk) first, then its bytes.
  let why = ''
  const controller = new AbortController()
  res.once('close', () => { if (!res.writableFinished) controller.abort(new Error('the HTTP client went away')) })
  const ensure = async (ranges: ChunkRanges): Promise<boolean> => {
    const missing = async (): Promise<boolean> => await node.blobs.bitfield(hash).then(bf => !(bf.sizeVerified && coverage(bf, ranges).missing.isEmpty()))
    if (!await missing()) return true
    if (providers.length === 0) return false
    const request = { hash, ranges: RangeSpecSeq.root(ranges) }
    await node.downloader.download({ request, providers, signal: controller.signal }).result.catch((err: Error) => {
      if (isDiskError(err)) throw err // this node's disk, not the providers: answered as such (507)
      why = `: ${err.name}: ${err.message}`
    })
    return !await missing()
  }
  if (!await ensure(ChunkRanges.lastChunk())) {
    return reply(404, `${hex} is not here${providers.length > 0 ? ` and no provider delivered it${why}` : ''}\n`)
  }
  const size = (await node.blobs.bitfield(hash)).size
  const range = parseRange(req.headers.range, size)
  if (range === 'unsatisfiable') return reply(416, 'range not satisfiable\n', { ...headers, 'content-range': `bytes */${size}` })
  const { start, end } = range ?? { start: 0, end: size }
  const partial = range !== undefined
  // HEAD needs the size only; a GET, the chunks under its bytes (a blob part here is served as is).
  if (req.method !== 'HEAD' && end > start && !await ensure(ChunkRanges.fromByteRange(start, end))) {
    return reply(502, `bytes ${start}..${end} of ${hex} are not all here and the providers did not deliver them${why}\n`)
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
 * `?filename=report.pdf` asks the browser to save the blob under that name: a Content-Disposition
 * with a plain ASCII fallback and the exact name (RFC 6266 / RFC 5987).
 */
function attachment (url: string): Record<string, string> {
  const name = new URLSearchParams(url.split('?')[1] ?? '').get('filename')
  if (name === null || name === '') return {}
  const base = name.split(/[/\\]/).pop() as string
  const plain = base.replace(/[^\x20-\x7e]|["\\%;]/g, '_')
  return { 'content-disposition': `attachment; filename="${plain}"; filename*=UTF-8''${encodeURIComponent(base).replace(/['()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}` }
}
