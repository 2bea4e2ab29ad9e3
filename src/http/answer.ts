import type { ServerResponse } from 'node:http'
import { writeDrained } from '../net/writable.js'
import type { GatewayMetrics } from './metrics.js'

/**
 * What a route asks of the blob or task it answers, apart from how it came (an HTTP request, or
 * a `/verity/request/1` stream): the method, the path with its query, the headers that matter,
 * and a signal that aborts when the asker goes away.
 */
export interface Ask {
  method: string
  /** The path and query, `/tasks?url=...` or `/blob/<hash>?filename=...`. */
  url: string
  headers: {
    range?: string | undefined
    'if-none-match'?: string | undefined
    accept?: string | undefined
  }
  signal: AbortSignal
}

/** A route's answer: a status, headers, and a body of text or of bytes read as they are sent. */
export interface Answer {
  status: number
  headers: Record<string, string>
  body?: string | AsyncIterable<Uint8Array>
}

/** The media type of the verifiable answer (PROTOCOL.md section 4, the encoded range stream): asked with `Accept`. */
export const BAO_TYPE = 'application/x-bao'

/** Whether `accept` asks for the verifiable answer. */
export function wantsBao (accept: string | undefined): boolean {
  return accept !== undefined && accept.split(',').some(part => part.split(';')[0]?.trim().toLowerCase() === BAO_TYPE)
}

/** A text answer (errors, notes), `text/plain` unless `headers` say otherwise. */
export function textAnswer (status: number, text: string, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers }, body: text }
}

/** The query of `url` (`/blob/<hash>?filename=a&download`); a `?` inside the query is part of it. */
export function queryOf (url: string): URLSearchParams {
  const at = url.indexOf('?')
  return new URLSearchParams(at === -1 ? '' : url.slice(at + 1))
}

/**
 * Sends `answer` on an HTTP response: a body of bytes written as the client takes it; a client
 * gone, or taking nothing for `stallMs`, ends the loop with an error, and leaving the loop closes
 * the body's reader and its files.
 */
export async function writeAnswer (res: ServerResponse, answer: Answer, options: { head: boolean, stallMs: number, signal: AbortSignal, metrics: GatewayMetrics, route: string }): Promise<void> {
  res.writeHead(answer.status, answer.headers)
  options.metrics.countHttp(options.route, answer.status)
  const body = answer.body
  if (options.head || body === undefined) { res.end(); return }
  if (typeof body === 'string') { res.end(body); return }
  for await (const bytes of body) {
    await writeDrained(res, bytes, { stallMs: options.stallMs, signal: options.signal })
    options.metrics.countHttpBytes(bytes.length)
  }
  res.end()
}
