import { concat } from 'uint8arrays'
import { RequestFailed } from './errors.js'
import type { Logger } from '@libp2p/interface'
import type { OpenOptions, RequestHeaders, SendOptions, StreamResponse } from './interface.js'

/** Every chunk of `body` in one array. */
export async function collect (body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of body) parts.push(part)
  return concat(parts)
}

/** `http://host:port` for an address given as `host:port` or as an http URL. */
export function httpOrigin (address: string): string {
  if (typeof address !== 'string' || address === '') throw new TypeError(`address must be host:port or an http URL, got ${JSON.stringify(address)}`)
  const url = new URL(address.includes('://') ? address : `http://${address}`)
  if (url.protocol !== 'http:') throw new TypeError(`address must be host:port or an http URL, got ${JSON.stringify(address)}`)
  return url.origin
}

/** Dynamo's sendRequest over a client's open(): the whole body, or RequestFailed for a status of 400 or more. */
export async function sendVia (open: (address: string, options: OpenOptions) => Promise<StreamResponse>, address: string, payload: Uint8Array,
  headers: RequestHeaders, options: SendOptions): Promise<Uint8Array> {
  const response = await open(address, { ...options, payload, headers })
  const body = await collect(response.body)
  if (response.status >= 400) throw new RequestFailed(response.status, body)
  return body
}

/**
 * startWarmup's loop: each list `instances` yields goes to `take`, until `signal` aborts, the
 * client closes or the lists end. The source is not awaited when left: one still waiting for its
 * next list would hold the caller up until it has one.
 */
export async function eachInstanceList (instances: AsyncIterable<readonly string[]>, signal: AbortSignal, closed: () => boolean,
  take: (list: readonly string[]) => void, log: Logger): Promise<void> {
  const stop = new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
  const iterator = instances[Symbol.asyncIterator]()
  while (!signal.aborted && !closed()) {
    const next = await Promise.race([iterator.next(), stop.then(() => ({ done: true as const, value: undefined }))])
    if (next.done === true) break
    take(next.value)
  }
  iterator.return?.().catch((err: Error) => { log('the instance list ended with %s', err.message) })
}

/** close()'s grace: wait for `pending` to settle, at most `timeoutMs`. */
export async function settleWithin (pending: Iterable<Promise<unknown>>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.allSettled(pending),
    new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })
  ])
  clearTimeout(timer)
}
