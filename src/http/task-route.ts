import type { IncomingMessage, ServerResponse } from 'node:http'
import type { VerityNode } from '../node/create-node.js'
import { writeAnswer } from './answer.js'
import { askOf } from './blob-route.js'
import type { GatewayMetrics } from './metrics.js'
import { taskAnswer } from './task-answer.js'

/** `GET`/`HEAD /tasks?url=<url>...` on a seed (`verity serve --seed`): the task's answer (task-answer.ts) written as HTTP. */
export async function serveTask (node: VerityNode, metrics: GatewayMetrics, stallMs: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ask = askOf(req, res)
  const answer = await taskAnswer(node, ask)
  await writeAnswer(res, answer, { head: req.method === 'HEAD', stallMs, signal: ask.signal, metrics, route: 'tasks' })
}
