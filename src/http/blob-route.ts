import type { IncomingMessage, ServerResponse } from 'node:http'
import { fromHex } from '../../store/hash-text.js'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { type Ask, writeAnswer } from './answer.js'
import { blobAnswer } from './blob-answer.js'
import type { GatewayMetrics } from './metrics.js'

/** How the blob route answers without a body of bytes: a status, a text, some headers. */
export type Reply = (status: number, body: string, headers?: Record<string, string>) => void

/**
 * `GET`/`HEAD /blob/<hash>[?filename=name]`: the blob's answer (blob-answer.ts: Range, ETag,
 * fetching on demand from `providers`, verified bytes only, or with `Accept: application/x-bao`
 * the encoded range stream a client verifies itself). A client gone, or taking nothing for
 * `stallMs`, ends the body and the reader closes its files.
 */
export async function serveBlob (node: VerityNode, metrics: GatewayMetrics, providers: PeerTarget[], stallMs: number,
  req: IncomingMessage, res: ServerResponse, reply: Reply): Promise<void> {
  let hash: Uint8Array
  try {
    hash = fromHex((req.url ?? '').split('?')[0]?.slice('/blob/'.length) ?? '')
  } catch {
    return reply(400, 'a blob is named by 64 hex digits\n')
  }
  await sendBlob(node, metrics, providers, stallMs, hash, req, res)
}

/** The blob `hash` as answer to `req` (also how `/tasks` sends a task's blob); `extra` headers go out with every answer that has the blob. */
export async function sendBlob (node: VerityNode, metrics: GatewayMetrics, providers: PeerTarget[], stallMs: number, hash: Uint8Array,
  req: IncomingMessage, res: ServerResponse, extra: Record<string, string> = {}, route = 'blob'): Promise<void> {
  const ask = askOf(req, res)
  const answer = await blobAnswer(node, providers, hash, ask, extra)
  await writeAnswer(res, answer, { head: req.method === 'HEAD', stallMs, signal: ask.signal, metrics, route })
}

/** The parts of an HTTP request a route reads, with a signal that aborts when the client goes away before the answer is sent. */
export function askOf (req: IncomingMessage, res: ServerResponse): Ask {
  const controller = new AbortController()
  res.once('close', () => { if (!res.writableFinished) controller.abort(new Error('the HTTP client went away')) })
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: { range: req.headers.range, 'if-none-match': req.headers['if-none-match'], accept: req.headers.accept },
    signal: controller.signal
  }
}
