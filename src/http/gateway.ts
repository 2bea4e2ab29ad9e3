import type { IncomingMessage, ServerResponse } from 'node:http'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { accessLog as clfLog } from './access-log.js'
import { type BlobRouteContext, serveBlob } from './blob-route.js'
import { Collections } from './collections.js'
import { GatewayMetrics } from './metrics.js'
import { serveTask } from './task-route.js'

/** A client that takes no body bytes for this long is dropped (its reader and files with it). */
export const BODY_STALL_MS = 60000

/** A `node:http` request handler: `http.createServer(handler)`, or called from a server's own `request` listener. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

export interface GatewayOptions {
  /** @default BODY_STALL_MS */
  bodyStallMs?: number
  /** Called first with each request and its response (an access log: access-log.ts). */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => void
}

export interface GatewayInit extends GatewayOptions {
  /** The node whose store the gateway serves (and fetches into). */
  node: VerityNode
  /** Peers a request's missing chunks are fetched from, only those it needs. @default [] (what is here only) */
  providers?: PeerTarget[]
  /** Where requests are counted, served on `/metrics`. @default a GatewayMetrics of the gateway's own, watching `node` */
  metrics?: GatewayMetrics
  /** Given one Common Log Format line per request once its response ends (access-log.ts). @default no log */
  accessLog?: (line: string) => void
}

/**
 * The HTTP gateway as a `node:http` request handler, to mount in a server of one's own:
 *
 *     createServer(createGateway({ node, providers: [ticket] })).listen(8080, '127.0.0.1')
 *
 * Routes: `/blob/<hash>` (blob-answer.ts: Range, ETag, HEAD, Content-Type, `?download`,
 * `Accept: application/x-bao`; fetching from `providers` just the chunks a request needs),
 * `/blob/<collection hash>/` and `/blob/<collection hash>/<path>` (collection-answer.ts: the
 * listing as HTML or JSON, a file of the collection), `/metrics` (Prometheus text), `/health`;
 * on a seed, `/tasks?url=` (task-route.ts); any other method than GET and HEAD is 405. Every
 * answer says `X-Content-Type-Options: nosniff`. `verity serve` is this handler in its own server.
 */
export function createGateway (init: GatewayInit): RequestHandler {
  const { node } = init
  let metrics = init.metrics
  if (metrics === undefined) {
    metrics = new GatewayMetrics()
    metrics.watch(node)
  }
  const providers = init.providers ?? []
  const context: BlobRouteContext = { node, metrics, providers, stallMs: init.bodyStallMs ?? BODY_STALL_MS, collections: new Collections(node, providers) }
  const logLine = init.accessLog === undefined ? undefined : clfLog(init.accessLog)
  const log = node.libp2p.logger.forComponent('verity:http')
  return (req, res) => {
    logLine?.(req, res)
    init.onRequest?.(req, res)
    res.setHeader('x-content-type-options', 'nosniff')
    const route = routeOf(req.url ?? '/')
    if (log.enabled) {
      const started = performance.now()
      res.once('close', () => {
        const url = (req.url ?? '/').slice(0, 100)
        log('%s %s: %d%s, %d ms', req.method, url, res.statusCode, res.writableFinished ? '' : ' (ended early)', Math.round(performance.now() - started))
      })
    }
    serve(context, req, res, route).catch((err: Error) => {
      if (!res.headersSent) {
        const status = statusOf(err)
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${err.name}: ${err.message}\n`)
        context.metrics.countHttp(route, status)
      } else {
        res.destroy(err) // mid-body: the client sees a short response, never unverified bytes
      }
    })
  }
}

/** The gateway with the metrics it counts in given apart (createGateway with `node`, `metrics`, `providers`). */
export function gatewayHandler (node: VerityNode, metrics: GatewayMetrics, providers: PeerTarget[] = [], options: GatewayOptions = {}): RequestHandler {
  return createGateway({ ...options, node, metrics, providers })
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

async function serve (context: BlobRouteContext, req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
  const { node, metrics } = context
  const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(req.method === 'HEAD' ? undefined : body)
    metrics.countHttp(route, status)
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'GET or HEAD only\n', { allow: 'GET, HEAD' })
  if (route === 'health') return reply(200, JSON.stringify({ status: 'ok', peerId: node.peerId }) + '\n', { 'content-type': 'application/json' })
  if (route === 'metrics') return reply(200, await metrics.text(), { 'content-type': metrics.contentType })
  if (route === 'tasks') return await serveTask(node, metrics, context.stallMs, req, res)
  if (route !== 'blob') return reply(404, 'not found: try /blob/<hash>, /blob/<collection hash>/, /tasks?url=<url>, /metrics or /health\n')
  await serveBlob(context, req, res)
}
