import type { IncomingMessage, ServerResponse } from 'node:http'
import { toHex } from '../../store/hash-text.js'
import type { VerityNode } from '../node/create-node.js'
import { safeUrlOf } from '../origin/safe-url.js'
import { urlArg } from '../origin/task-id.js'
import { sendBlob, type Reply } from './blob-route.js'
import type { GatewayMetrics } from './metrics.js'

/** The HTTP status an error of a task answers with (docs/origins.md, "GET /tasks"). */
const STATUS_OF: Record<string, number> = {
  OriginNotFound: 404,
  OriginDenied: 403,
  OriginForbiddenAddress: 403,
  OriginUnavailable: 502,
  OriginBadResponse: 502,
  OriginRangeIgnored: 502,
  OriginTimeout: 504,
  OriginChanged: 409,
  UnsupportedScheme: 400,
  TypeError: 400,
  RangeError: 400,
  Permission: 403
}

/**
 * `GET`/`HEAD /tasks?url=<url>[&filter=a,b][&tag=x][&application=y]` on a seed (`verity serve
 * --seed`): the URL's task imported through `origins.import` (so one origin fetch however many
 * ask, and none for a task known here), then its blob sent from the store as `/blob/<hash>` sends
 * it (Range, ETag, verified bytes), with `x-verity-task` and `x-verity-hash`. A directory's task
 * answers JSON naming its collection's files. Errors: the origin's as HTTP statuses (404, 403,
 * 502, 504, 409), a URL the seed does not fetch 403 (outside its prefixes, or an address that is
 * not public: OriginForbiddenAddress), a bad query 400; the body is JSON
 * `{ error, message, url? }`. The seed's URL prefixes apply; its peer list does not (the gateway
 * has no peer ids: bind it where only those who may use it reach it).
 */
export async function serveTask (node: VerityNode, metrics: GatewayMetrics, stallMs: number, req: IncomingMessage, res: ServerResponse, reply: Reply): Promise<void> {
  const seed = node.seed
  if (seed === undefined) return reply(404, 'not a seed: /tasks is served by verity serve --seed\n')
  const query = new URLSearchParams((req.url ?? '').split('?').slice(1).join('?'))
  const given = query.get('url')
  if (given === null || given === '') return reply(400, 'GET /tasks?url=<url>[&filter=a,b][&tag=x]: url is missing\n')
  const filter = query.getAll('filter').flatMap(value => value.split(',')).map(name => name.trim()).filter(name => name !== '')
  const tag = query.get('tag') ?? undefined
  const application = query.get('application') ?? undefined
  const controller = new AbortController()
  res.once('close', () => { if (!res.writableFinished) controller.abort(new Error('the HTTP client went away')) })
  let result
  try {
    const url = urlArg(given)
    result = await seed.importFor(url, safeUrlOf(url, filter), {
      filter, ...(tag === undefined ? {} : { tag }), ...(application === undefined ? {} : { application }), signal: controller.signal
    })
  } catch (err) {
    const error = err as Error & { url?: string }
    const status = STATUS_OF[error.name]
    if (status === undefined) throw err
    const body = { error: error.name, message: error.message, ...(error.url === undefined ? {} : { url: error.url }) }
    return reply(status, JSON.stringify(body) + '\n', { 'content-type': 'application/json' })
  }
  const headers = { 'x-verity-task': result.taskId, 'x-verity-hash': toHex(result.hash) }
  if (result.format === 'hashseq') {
    const files = (await node.blobs.readCollection(result.hash)).map(entry => ({ name: entry.name, hash: toHex(entry.hash), blob: `/blob/${toHex(entry.hash)}` }))
    return reply(200, JSON.stringify({ taskId: result.taskId, hash: toHex(result.hash), format: 'hashseq', size: result.size, files }) + '\n', { ...headers, 'content-type': 'application/json' })
  }
  await sendBlob(node, metrics, [], stallMs, result.hash, req, res, reply, headers, 'tasks')
}
