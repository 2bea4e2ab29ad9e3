import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { OriginBadResponse, OriginDenied, OriginError, OriginForbiddenAddress, OriginNotFound, OriginTimeout, OriginUnavailable } from '../errors.js'
import type { AddressPolicy } from '../interface.js'
import { bareUrlOf } from '../safe-url.js'
import { AddressRefused, checkLiteralHost } from './public-lookup.js'
import { parseRetryAfter } from './retry.js'

/** Statuses that redirect (303 included: ours are GET and HEAD, which stay as they are). */
const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** Request headers that carry credentials: not sent on to another origin after a redirect. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization']

/**
 * Keep-alive agents: `http`/`https` for connections to any address, `publicHttp`/`publicHttps`
 * (made with publicLookup) for connections on someone else's behalf. Two pools, so that a socket
 * one connected to a private address never carries a request the other may not make.
 */
export interface Agents {
  http: http.Agent
  https: https.Agent
  publicHttp: http.Agent
  publicHttps: https.Agent
}

export interface ExchangeOptions {
  method: 'GET' | 'HEAD'
  /** Header names in lower case. */
  headers: Record<string, string>
  agents: Agents
  /** Nothing for this long (no answer, no body bytes): OriginTimeout. */
  idleTimeoutMs: number
  maxRedirects: number
  /** Which addresses each hop may connect to. @default { reach: 'any' } */
  addressPolicy?: AddressPolicy
  /** The URL as messages show it. */
  shown: string
  signal?: AbortSignal
}

/** One request's answer, after redirects; `body()` reads it under the idle timeout. */
export interface Exchange {
  response: IncomingMessage
  /** The URL that answered, after redirects, and how messages show it. */
  url: URL
  shown: string
  body: () => AsyncGenerator<Buffer>
  /** Stop reading: the connection is closed (an unread body cannot be skipped cheaply). */
  discard: () => void
}

/** Send one request, following up to `maxRedirects` redirects (credentials stay with their origin). */
export async function exchange (url: URL, options: ExchangeOptions): Promise<Exchange> {
  let current = url
  let shown = options.shown
  let headers = options.headers
  for (let hops = 0; ; hops++) {
    const response = await send(current, { ...options, headers, shown }, publicOnly(current, options.addressPolicy))
    const location = response.headers.location
    if (!REDIRECTS.has(response.statusCode ?? 0) || location === undefined) {
      return { response, url: current, shown, body: () => readBody(response, options.idleTimeoutMs, shown, options.signal), discard: () => { response.destroy() } }
    }
    response.destroy()
    if (hops >= options.maxRedirects) throw new OriginBadResponse(options.shown, `more than ${options.maxRedirects} redirects`)
    let next: URL
    try {
      next = new URL(location, current)
    } catch {
      throw new OriginBadResponse(shown, 'a redirect to something that is not a URL')
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new OriginBadResponse(shown, `a redirect to a ${next.protocol} URL`)
    if (next.origin !== current.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.includes(name)))
    current = next
    // A redirect's target may be a presigned URL: messages show only where it points.
    shown = `${bareUrlOf(next)} (redirected from ${options.shown})`
  }
}

/** Whether this hop must reach a public address: the policy says so and no allowed prefix covers its URL. */
function publicOnly (url: URL, policy: AddressPolicy | undefined): boolean {
  if (policy === undefined || policy.reach === 'any') return false
  return !(policy.privateAllowed ?? []).some(prefix => url.href.startsWith(prefix))
}

/** The named error for a status that is not an answer to use, or undefined for 2xx and 304. */
export function statusError (response: IncomingMessage, shown: string): OriginError | undefined {
  const status = response.statusCode ?? 0
  if ((status >= 200 && status < 300) || status === 304) return undefined
  const detail = `the origin answered ${status}${response.statusMessage === undefined ? '' : ` ${response.statusMessage}`}`
  if (status === 404 || status === 410) return new OriginNotFound(shown, detail, { status })
  if (status === 401 || status === 403) return new OriginDenied(shown, detail, { status })
  if (status >= 500 || status === 429 || status === 408) {
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'])
    return new OriginUnavailable(shown, detail, { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })
  }
  return new OriginBadResponse(shown, detail, { status })
}

/** A failure below HTTP (refused, reset, DNS, TLS) as the named origin error; aborts and origin errors pass. */
export function networkError (err: unknown, shown: string, signal: AbortSignal | undefined): unknown {
  if (err instanceof OriginError || signal?.aborted === true) return signal?.aborted === true ? signal.reason : err
  if (err instanceof AddressRefused) return new OriginForbiddenAddress(shown, err.host, err.address, err.kind)
  const code = (err as NodeJS.ErrnoException).code ?? ''
  if (/^(ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(code)) {
    return new OriginBadResponse(shown, `TLS failed (${code})`, { cause: err })
  }
  const what = (err as Error).message === 'aborted' ? 'the connection closed mid-response' : (err as Error).message
  return new OriginUnavailable(shown, `${what}${code === '' || what.includes(code) ? '' : ` (${code})`}`, { cause: err })
}

async function send (url: URL, options: ExchangeOptions, publicOnly: boolean): Promise<IncomingMessage> {
  options.signal?.throwIfAborted()
  const secure = url.protocol === 'https:'
  if (publicOnly) {
    try {
      checkLiteralHost(url.hostname)
    } catch (err) {
      throw networkError(err, options.shown, options.signal)
    }
  }
  const agents = options.agents
  return await new Promise<IncomingMessage>((resolve, reject) => {
    const request = (secure ? https : http).request(url, {
      method: options.method,
      headers: options.headers,
      // The public agents resolve with publicLookup: the address checked is the one connected to.
      agent: secure ? (publicOnly ? agents.publicHttps : agents.https) : (publicOnly ? agents.publicHttp : agents.http)
    })
    const timer = setTimeout(() => { request.destroy(new OriginTimeout(options.shown, options.idleTimeoutMs, `no answer from the origin within ${options.idleTimeoutMs} ms`)) }, options.idleTimeoutMs)
    const onAbort = (): void => { request.destroy(options.signal?.reason) }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const done = (): void => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
    request.once('response', response => {
      done()
      // Aborting while the body is read: the response goes, and its reader fails with the reason.
      if (options.signal !== undefined) {
        const signal = options.signal
        const onBodyAbort = (): void => { response.destroy(signal.reason) }
        signal.addEventListener('abort', onBodyAbort, { once: true })
        response.once('close', () => { signal.removeEventListener('abort', onBodyAbort) })
      }
      resolve(response)
    })
    request.once('error', err => {
      done()
      reject(networkError(err, options.shown, options.signal))
    })
    request.end()
  })
}

/** The body, chunk by chunk; a wait for the next one longer than `idleTimeoutMs` is OriginTimeout. */
async function * readBody (response: IncomingMessage, idleTimeoutMs: number, shown: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  const chunks = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  try {
    while (true) {
      const timer = setTimeout(() => { response.destroy(new OriginTimeout(shown, idleTimeoutMs)) }, idleTimeoutMs)
      let next: IteratorResult<Buffer>
      try {
        next = await chunks.next()
      } catch (err) {
        throw networkError(err, shown, signal)
      } finally {
        clearTimeout(timer)
      }
      if (next.done === true) return
      yield next.value
    }
  } finally {
    if (!response.complete) response.destroy()
  }
}
