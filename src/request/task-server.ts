import type { VerityNode } from '../node/create-node.js'
import { textAnswer } from '../http/answer.js'
import { taskAnswer } from '../http/task-answer.js'
import { serveRequests, type ServeRequestsOptions } from './libp2p-server.js'

/**
 * A seed's `/tasks` over `/verity/request/1`, for request SDKs that reach seeds by peer id: the
 * same answer as the seed's HTTP gateway gives (task-answer.ts), with the requester's peer id
 * checked against who may ask the seed (`seed.allow`), which HTTP cannot do. Streams wait for
 * the import without an inactivity timeout; `maxPerPeer` (default 8) bounds what one peer holds.
 * `verity serve --seed` runs it. Resolves to a function that stops answering.
 */
export async function serveSeedRequests (node: VerityNode, options: ServeRequestsOptions = {}): Promise<() => Promise<void>> {
  if (node.seed === undefined) throw new TypeError('serveSeedRequests needs a node made with { seed }')
  return await serveRequests(node.libp2p, async request => {
    const [path] = request.path.split('?') as [string]
    if (request.method !== 'GET' && request.method !== 'HEAD') return textAnswer(405, 'GET or HEAD only\n', { allow: 'GET, HEAD' })
    if (path !== '/tasks') return textAnswer(404, 'not found: a seed answers /tasks?url=<url> here\n')
    const answer = await taskAnswer(node, {
      method: request.method,
      url: request.path,
      headers: { range: request.headers.range, 'if-none-match': request.headers['if-none-match'], accept: request.headers.accept },
      signal: request.signal
    }, request.peer)
    return { status: answer.status, headers: answer.headers, ...(request.method === 'HEAD' || answer.body === undefined ? {} : { body: answer.body }) }
  }, { inactivityTimeoutMs: 0, ...options })
}
