import type { IncomingMessage, ServerResponse } from 'node:http'
import { fromHex } from '../../store/hash-text.js'
import type { VerityNode } from '../node/create-node.js'
import type { PeerTarget } from '../net/peer.js'
import { type Ask, textAnswer, writeAnswer } from './answer.js'
import { blobAnswer } from './blob-answer.js'
import { collectionAnswer } from './collection-answer.js'
import type { Collections } from './collections.js'
import type { GatewayMetrics } from './metrics.js'

/** What the blob route reads and writes through: the node, where to fetch from, the metrics, the collections read. */
export interface BlobRouteContext {
  node: VerityNode
  metrics: GatewayMetrics
  providers: PeerTarget[]
  stallMs: number
  collections: Collections
}

/**
 * `GET`/`HEAD /blob/<hash>[?filename=name|?download]`: the blob's answer (blob-answer.ts: Range,
 * ETag, fetching on demand from `providers`, verified bytes only, or with `Accept:
 * application/x-bao` the encoded range stream a client verifies itself); `/blob/<hash>/` and
 * `/blob/<hash>/<path>`: the collection's listing or one of its files (collection-answer.ts). A
 * client gone, or taking nothing for `stallMs`, ends the body and the reader closes its files.
 */
export async function serveBlob (context: BlobRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ask = askOf(req, res)
  const path = ask.url.split('?')[0]?.slice('/blob/'.length) ?? ''
  const slash = path.indexOf('/')
  let hash: Uint8Array | undefined
  try {
    hash = fromHex(slash === -1 ? path : path.slice(0, slash))
  } catch {}
  const answer = hash === undefined
    ? textAnswer(400, 'a blob is named by 64 hex digits: /blob/<hash>, or /blob/<collection hash>/<path>\n')
    : slash === -1
      ? await blobAnswer(context.node, context.providers, hash, ask)
      : await collectionAnswer(context.node, context.providers, context.collections, hash, path.slice(slash + 1), ask)
  await writeAnswer(res, answer, { head: req.method === 'HEAD', stallMs: context.stallMs, signal: ask.signal, metrics: context.metrics, route: 'blob' })
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
