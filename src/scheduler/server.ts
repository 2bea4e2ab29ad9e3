import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { BadParameter, BodyTooLarge, NoRoute, SchedulerError } from './errors.js'
import { apiRoutes } from './routes-api.js'
import { peerRoutes } from './routes-peer.js'
import type { Scheduler } from './scheduler.js'
import { QueryFields } from './validate.js'
import type { Route, RouteReply } from './route.js'

interface Compiled extends Route { pattern: RegExp }

const compile = (route: Route): Compiled => ({
  ...route,
  pattern: new RegExp(`^${route.path.replace(/\{\w+\}/g, '([^/]+)')}$`)
})

/**
 * The HTTP API of seed 004 over `scheduler` (node:http). Every client is treated as an
 * adversary: a body over `maxBodyBytes` is 413 before it is read (or as soon as it passes the
 * limit) and the connection is closed; a body that is not JSON, or a field that does not check
 * out, is 400 with the Error schema naming the field; unknown ids 404; an unknown path 404 and a
 * method the path does not take 405. Errors are `{"code", "message", "name"}` (Error and
 * ErrorResponse in one), plus `field` for a bad parameter.
 */
export function schedulerHandler (scheduler: Scheduler): RequestListener {
  const routes = [...apiRoutes, ...peerRoutes].map(compile)
  const limit = scheduler.ctx.limits.maxBodyBytes
  return (req, res) => {
    const started = performance.now()
    const url = new URL(req.url ?? '/', 'http://scheduler')
    let label = 'unknown'
    const answer = async (): Promise<RouteReply> => {
      const matching = routes.filter(route => route.pattern.test(url.pathname))
      const route = matching.find(candidate => candidate.method === req.method)
      if (route === undefined) {
        if (matching.length > 0) res.setHeader('allow', matching.map(candidate => candidate.method).join(', '))
        throw new NoRoute(matching.length > 0 ? 405 : 404, req.method ?? '', url.pathname)
      }
      label = `${route.method} ${route.path}`
      const params = (route.pattern.exec(url.pathname) as RegExpExecArray).slice(1).map((param, i) => {
        try { return decodeURIComponent(param) } catch { throw new BadParameter(`path parameter ${i + 1}`, 'is not a valid percent-encoded string') }
      })
      return await route.handle(scheduler, { params, query: new QueryFields(url.searchParams), body: async () => await readJson(req, limit) })
    }
    answer().catch(err => failure(scheduler, err, label)).then(reply => {
      send(req, res, reply)
      scheduler.metrics.request(label, reply.status, (performance.now() - started) / 1000)
    }, err => {
      scheduler.ctx.log.error('answering %s %s: %e', req.method, url.pathname, err)
      res.destroy()
    })
  }
}

function failure (scheduler: Scheduler, err: unknown, label: string): RouteReply {
  if (err instanceof SchedulerError) {
    return { status: err.status, json: { code: err.status, message: err.message, name: err.name, ...(err instanceof BadParameter ? { field: err.field } : {}) } }
  }
  scheduler.ctx.log.error('%s failed: %e', label, err)
  return { status: 500, json: { code: 500, message: 'An unexpected server error occurred.', name: (err as Error).name } }
}

function send (req: IncomingMessage, res: ServerResponse, reply: RouteReply): void {
  // A body left unread (413, or an error before the body was wanted) is not read: the connection closes.
  if (!req.complete) res.setHeader('connection', 'close')
  const body = reply.json !== undefined ? JSON.stringify(reply.json) : reply.text
  if (body === undefined) {
    res.writeHead(reply.status, { 'content-length': 0 }).end()
    return
  }
  res.writeHead(reply.status, {
    'content-type': reply.contentType ?? (reply.json !== undefined ? 'application/json' : 'text/plain; charset=utf-8'),
    'content-length': Buffer.byteLength(body)
  }).end(body)
}

/** The body as JSON, at most `limit` bytes (BodyTooLarge past it: the rest is not read, the connection closes). */
async function readJson (req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new BodyTooLarge(limit)
  const text = await new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = []
    let size = 0
    const done = (): void => { req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onError) }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) { done(); req.pause(); reject(new BodyTooLarge(limit)); return }
      parts.push(chunk)
    }
    const onEnd = (): void => { done(); resolve(Buffer.concat(parts).toString('utf8').trim()) }
    const onError = (err?: Error): void => { done(); reject(err ?? new Error('the client went away')) }
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onError)
  })
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new BadParameter('body', `is not JSON: ${(err as Error).message.slice(0, 100)}`)
  }
}
