import { concat } from 'uint8arrays'
import { RequestFailed } from './errors.js'
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
