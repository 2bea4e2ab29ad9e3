import type { IncomingMessage, ServerResponse } from 'node:http'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { serveBlob } from './blob-route.js'
import type { GatewayMetrics } from './metrics.js'
import { serveTask } from './task-route.js'

/** A client that takes no body bytes for this long is dropped (its reader and files with it). */
export const BODY_STALL_MS = 60000

export interface GatewayOptions {
  /** @default BODY_STALL_MS */
  bodyStallMs?: number
  /** Called first with each request and its response (an access log: access-log.ts). */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => void
}

/**
 * The HTTP side of `verity serve`, its routes: `/blob/<hash>` (blob-route.ts: Range, ETag, HEAD,
 * fetching from `providers` just the chunks a request needs that are not here), `/metrics`
 * (metrics.ts, Prometheus text), `/health`; on a seed, `/tasks?url=` (task-route.ts: a URL
 * imported once through its task, then sent as a blob); any other method than GET and HEAD is 405.
 */
export function gatewayHandler (node: VerityNode, metrics: GatewayMetrics, providers: PeerTarget[] = [], options: GatewayOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const stallMs = options.bodyStallMs ?? BODY_STALL_MS
  const log = node.libp2p.logger.forComponent('verity:http')
  return (req, res) => {
    options.onRequest?.(req, res)
    const route = routeOf(req.url ?? '/')
    if (log.enabled) {
      const started = performance.now()
      res.once('close', () => {
        const url = (req.url ?? '/').slice(0, 100)
        log('%s %s: %d%s, %d ms', req.method, url, res.statusCode, res.writableFinished ? '' : ' (ended early)', Math.round(performance.now() - started))
      })
    }
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
  if (path === '/metrics' || path === '/health' || path === '/tasks') return path.slice(1)
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
  if (route === 'tasks') return await serveTask(node, metrics, stallMs, req, res)
  if (route !== 'blob') return reply(404, 'not found: try /blob/<hash>, /tasks?url=<url>, /metrics or /health\n')
  await serveBlob(node, metrics, providers, stallMs, req, res, reply)
}
