import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { OriginBadResponse, OriginChanged, OriginRangeIgnored, OriginUnavailable } from '../errors.js'
import type { AddressPolicy, FileHead, GetOptions, HeadOptions, HeadResult, NotModified, OriginBackend, Validators } from '../interface.js'
import { safeUrlOf } from '../safe-url.js'
import { exchange, statusError, type Agents, type Exchange } from './http-request.js'
import { publicLookup } from './public-lookup.js'
import { DEFAULT_RETRY, retryDelay, sleep, type RetryPolicy } from './retry.js'

/** A failed try that brought at least this much before failing starts the count of tries again. */
const PROGRESS_RESETS_TRIES = 64 << 10

export interface HttpBackendOptions {
  /** Nothing from the origin for this long (no answer, no body bytes): OriginTimeout. @default 30000 */
  idleTimeoutMs?: number
  /** Redirects followed at most. @default 10 */
  maxRedirects?: number
  /** Tries after a transient failure, with backoff; Retry-After is honoured. @default DEFAULT_RETRY */
  retry?: Partial<RetryPolicy>
  /** Connections per origin host at most (kept alive between pieces). @default 16 */
  maxSockets?: number
  /** Logs retries as `verity:origin:http`. @default defaultLogger() of @libp2p/logger */
  logger?: ComponentLogger
}

/**
 * `http:` and `https:` through node:http and node:https with keep-alive agents: `head` is a HEAD
 * (a ranged GET of byte 0 where HEAD is refused or gives no size), `get` a ranged GET checked
 * against what was asked (Content-Range, length, validators); a failure mid-body is retried from
 * the byte it stopped at.
 */
export function httpBackend (options: HttpBackendOptions = {}): OriginBackend {
  const maxSockets = options.maxSockets ?? 16
  const settings: Settings = {
    idleTimeoutMs: options.idleTimeoutMs ?? 30000,
    maxRedirects: options.maxRedirects ?? 10,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    agents: {
      http: new http.Agent({ keepAlive: true, maxSockets }),
      https: new https.Agent({ keepAlive: true, maxSockets }),
      publicHttp: new http.Agent({ keepAlive: true, maxSockets, lookup: publicLookup }),
      publicHttps: new https.Agent({ keepAlive: true, maxSockets, lookup: publicLookup })
    },
    log: (options.logger ?? defaultLogger()).forComponent('verity:origin:http')
  }
  return {
    name: 'http',
    schemes: ['http', 'https'],
    head: async (url, headOptions) => await head(settings, url, headOptions),
    get: (url, getOptions) => get(settings, url, getOptions),
    close: () => {
      for (const agent of Object.values(settings.agents)) agent.destroy()
    }
  }
}

interface Settings {
  idleTimeoutMs: number
  maxRedirects: number
  retry: RetryPolicy
  agents: Agents
  log: Logger
}

async function head (settings: Settings, url: URL, options: HeadOptions): Promise<HeadResult> {
  const shown = options.safeUrl ?? safeUrlOf(url)
  return await retrying(settings, shown, options.signal, async () => {
    const conditional: Record<string, string> = {}
    if (options.ifUnchanged?.etag !== undefined) conditional['if-none-match'] = options.ifUnchanged.etag
    else if (options.ifUnchanged?.lastModified !== undefined) conditional['if-modified-since'] = options.ifUnchanged.lastModified
    const answer = await send(settings, url, 'HEAD', { ...headersOf(options.headers), ...conditional }, shown, options)
    answer.response.resume() // no body: the connection goes back to the agent
    const status = answer.response.statusCode
    if (status === 304) return { notModified: true } satisfies NotModified
    // Some origins refuse HEAD, or answer it without a length: a GET of byte 0 tells the size.
    if (status === 405 || status === 501) return await headByGet(settings, url, options, shown)
    const failed = statusError(answer.response, answer.shown)
    if (failed !== undefined) throw failed
    const size = contentLength(answer.response)
    if (size === undefined) return await headByGet(settings, url, options, shown)
    return fileHead(answer.response, size)
  })
}

async function headByGet (settings: Settings, url: URL, options: HeadOptions, shown: string): Promise<FileHead> {
  const answer = await send(settings, url, 'GET', { ...headersOf(options.headers), range: 'bytes=0-0' }, shown, options)
  answer.discard()
  const { response } = answer
  const range = contentRange(response.headers['content-range'])
  if (response.statusCode === 416 && range?.total !== undefined) return fileHead(response, range.total)
  const failed = statusError(response, answer.shown)
  if (failed !== undefined) throw failed
  const size = response.statusCode === 206 ? range?.total : contentLength(response)
  if (size === undefined) throw new OriginBadResponse(answer.shown, 'the origin tells no size (no Content-Length, no Content-Range)')
  return fileHead(response, size)
}

async function * get (settings: Settings, url: URL, options: GetOptions): AsyncGenerator<Uint8Array> {
  const shown = options.safeUrl ?? safeUrlOf(url)
  const { offset, length } = options.range
  let done = 0
  let attempt = 0
  while (done < length) {
    const before = done
    try {
      const from = offset + done
      const answer = await send(settings, url, 'GET', { ...headersOf(options.headers), ...preconditions(options.expect), range: `bytes=${from}-${offset + length - 1}` }, shown, options)
      const whole = checkAnswer(answer, from, length - done, options.expect)
      for await (const chunk of answer.body()) {
        const left = length - done
        if (chunk.length > left && !whole) throw new OriginBadResponse(answer.shown, `more bytes than the ${length - before} asked for`)
        done += Math.min(chunk.length, left)
        yield chunk.length > left ? chunk.subarray(0, left) : chunk
        // The whole file came (a 200 from byte 0): the rest is not wanted. (A 206 is read to its
        // end, so its connection goes back to the agent.)
        if (done === length && whole) break
      }
      if (done < length) throw new OriginUnavailable(answer.shown, `the answer ended after ${done - before} of ${length - before} bytes`)
      if (whole) answer.discard()
    } catch (err) {
      // Tries count from the last failure that got somewhere: a long download through a flaky
      // connection goes on while each try brings a fair share; one that brings (next to) nothing does not.
      attempt = done - before >= PROGRESS_RESETS_TRIES ? 1 : attempt + 1
      const delay = retryDelay(err, attempt, settings.retry)
      if (delay === undefined) throw err
      settings.log('retrying bytes %d.. of %s in %d ms (try %d of %d) after %s: %s', offset + done, shown, delay, attempt, settings.retry.retries, (err as Error).name, (err as Error).message)
      await sleep(delay, options.signal)
    }
  }
}

/**
 * Whether a GET's answer is the range asked for (206 with that Content-Range and length: false)
 * or the whole file from byte 0 (200 to a range starting at 0: true, read only as far as wanted);
 * otherwise the named error. Either way the validators must be the download's.
 */
function checkAnswer (answer: Exchange, from: number, length: number, expect: Validators | undefined): boolean {
  const { response, shown } = answer
  const status = response.statusCode
  try {
    if (status === 412 || status === 416) throw new OriginChanged(shown, `the origin answered ${status} to bytes ${from}..${from + length} of the file as it was`, { status })
    const failed = statusError(response, shown)
    if (failed !== undefined) throw failed
    checkValidators(response, expect, shown)
    if (status === 206) {
      const range = contentRange(response.headers['content-range'])
      if (range === undefined) throw new OriginBadResponse(shown, '206 without a Content-Range')
      if (range.start !== from || range.end !== from + length - 1) {
        throw new OriginBadResponse(shown, `bytes ${range.start}-${range.end} came for ${from}-${from + length - 1}`)
      }
      if (range.total !== undefined && expect?.size !== undefined && range.total !== expect.size) {
        throw new OriginChanged(shown, `the file is ${range.total} bytes now, ${expect.size} when the download began`)
      }
      const declared = contentLength(response)
      if (declared !== undefined && declared !== length) throw new OriginBadResponse(shown, `Content-Length ${declared} for a range of ${length} bytes`)
      return false
    }
    if (status !== 200) throw new OriginBadResponse(shown, `the origin answered ${status ?? 'no status'} to a ranged GET`)
    if (from !== 0) throw new OriginRangeIgnored(shown, `the origin sent the whole file (200) for bytes ${from}..${from + length}`)
    const total = contentLength(response)
    if (total !== undefined && expect?.size !== undefined && total !== expect.size) {
      throw new OriginChanged(shown, `the file is ${total} bytes now, ${expect.size} when the download began`)
    }
    return true
  } catch (err) {
    answer.discard()
    throw err
  }
}

function checkValidators (response: IncomingMessage, expect: Validators | undefined, shown: string): void {
  const etag = response.headers.etag
  if (expect?.etag !== undefined && etag !== undefined && etag !== expect.etag) {
    throw new OriginChanged(shown, `the ETag is ${etag} now, ${expect.etag} when the download began`)
  }
  const modified = response.headers['last-modified']
  if (expect?.lastModified !== undefined && modified !== undefined && modified !== expect.lastModified) {
    throw new OriginChanged(shown, `Last-Modified is ${modified} now, ${expect.lastModified} when the download began`)
  }
}

/** If-Match for a strong ETag (a weak one never matches it), else If-Unmodified-Since. */
function preconditions (expect: Validators | undefined): Record<string, string> {
  if (expect?.etag !== undefined && !expect.etag.startsWith('W/')) return { 'if-match': expect.etag }
  if (expect?.lastModified !== undefined) return { 'if-unmodified-since': expect.lastModified }
  return {}
}

/** The caller's headers (names in lower case), asking for the bytes as stored unless told otherwise. */
function headersOf (given: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'verity' }
  for (const [name, value] of Object.entries(given ?? {})) headers[name.toLowerCase()] = value
  return headers
}

async function send (settings: Settings, url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>, shown: string, call: { signal?: AbortSignal | undefined, addressPolicy?: AddressPolicy | undefined }): Promise<Exchange> {
  return await exchange(url, {
    method,
    headers,
    agents: settings.agents,
    idleTimeoutMs: settings.idleTimeoutMs,
    maxRedirects: settings.maxRedirects,
    shown,
    ...(call.addressPolicy === undefined ? {} : { addressPolicy: call.addressPolicy }),
    ...(call.signal === undefined ? {} : { signal: call.signal })
  })
}

/** Runs `fn`, again after a transient failure (with backoff, or as long as Retry-After asks) while tries are left. */
async function retrying<T> (settings: Settings, shown: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      const delay = retryDelay(err, attempt, settings.retry)
      if (delay === undefined) throw err
      settings.log('retrying %s in %d ms (try %d of %d) after %s: %s', shown, delay, attempt, settings.retry.retries, (err as Error).name, (err as Error).message)
      await sleep(delay, signal)
    }
  }
}

function fileHead (response: IncomingMessage, size: number): FileHead {
  const { etag, 'last-modified': lastModified, 'content-type': contentType } = response.headers
  return {
    size,
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
    ...(contentType === undefined ? {} : { contentType })
  }
}

function contentLength (response: IncomingMessage): number | undefined {
  const text = response.headers['content-length']
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined
}

/** `bytes a-b/total` (total may be `*`), or `bytes *\/total` (an unsatisfied range). */
function contentRange (text: string | undefined): { start: number, end: number, total?: number } | undefined {
  const match = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(text?.trim() ?? '')
  if (match === null) return undefined
  const total = match[3] === '*' ? undefined : Number(match[3])
  return { start: Number(match[1] ?? -1), end: Number(match[2] ?? -1), ...(total === undefined ? {} : { total }) }
}
