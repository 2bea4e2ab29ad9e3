import { Agent, request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http'
import { once } from 'node:events'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { Aborted } from '../../protocol/errors.js'
import { ClientClosed } from './errors.js'
import type { ClientStats, CloseOptions, RequestHeaders, OpenOptions, RequestPlaneClient, SendOptions, StreamResponse } from './interface.js'
import { Exchange } from './exchange.js'
import { StatsCounter } from './stats.js'
import { eachInstanceList, httpOrigin, sendVia, settleWithin } from './util.js'

export interface HttpClientInit {
  /**
   * Connections per host (more requests wait: the pool is exhausted, isHealthy is false).
   * @default 64
   */
  maxSocketsPerHost?: number
  /**
   * The path warm-up asks with GET (node:http's Agent has no connect-only step, and keeps no
   * connection after a HEAD answer without a length); its small answer is read and dropped.
   * @default '/health' (verity's gateway answers it)
   */
  warmupPath?: string
  /** Logs as `verity:request:http`. @default defaultLogger() of @libp2p/logger */
  logger?: ComponentLogger
}

/**
 * The request plane over HTTP/1.1 with a keep-alive node:http Agent. Addresses are
 * `http://host:port/path` URLs (warm-up also takes `host:port`).
 */
export class HttpRequestClient implements RequestPlaneClient {
  readonly transportName = 'http' as const
  private readonly agent: Agent
  private readonly counter = new StatsCounter()
  private readonly inFlight = new Set<Promise<void>>()
  private readonly warmed = new Set<string>()
  private readonly warmupPath: string
  private readonly log: Logger
  private closed = false

  constructor (init: HttpClientInit = {}) {
    this.agent = new Agent({ keepAlive: true, maxSockets: init.maxSocketsPerHost ?? 64 })
    this.warmupPath = init.warmupPath ?? '/health'
    this.log = (init.logger ?? defaultLogger()).forComponent('verity:request:http')
  }

  async sendRequest (address: string, payload: Uint8Array, headers: RequestHeaders = {}, options: SendOptions = {}): Promise<Uint8Array> {
    return await sendVia(async (to, opts) => await this.open(to, opts), address, payload, headers, options)
  }

  async open (address: string, options: OpenOptions = {}): Promise<StreamResponse> {
    if (this.closed) throw new ClientClosed()
    const url = new URL(address)
    if (url.protocol !== 'http:') throw new TypeError(`address must be an http: URL, got ${JSON.stringify(address)}`)
    const payload = options.payload ?? new Uint8Array(0)
    const method = options.method ?? (payload.length === 0 ? 'GET' : 'POST')
    const headers: RequestHeaders = { ...options.headers }
    if (payload.length > 0) headers['content-length'] = String(payload.length)
    let req = httpRequest(url, { method, headers, agent: this.agent })
    const exchange: Exchange = new Exchange(this.counter, payload.length, options, url.host, err => { req.destroy(err) }, () => { this.inFlight.delete(exchange.done) })
    this.inFlight.add(exchange.done)
    let res: IncomingMessage
    try {
      try {
        res = await this.response(req, payload)
      } catch (err) {
        // A kept-alive connection the server closed as it was reused: once more on a new one
        // (only for requests without a body, which may be sent twice).
        if (exchange.failure !== undefined || !req.reusedSocket || payload.length > 0 || (err as { code?: string }).code !== 'ECONNRESET') throw err
        this.log('a pooled connection to %s was closed under a request; sending it again', url.host)
        req = httpRequest(url, { method, headers, agent: this.agent })
        res = await this.response(req, payload)
      }
    } catch (err) {
      throw exchange.failed(err)
    }
    return {
      status: res.statusCode ?? 0,
      headers: flatHeaders(res),
      body: exchange.body(plain(res), () => {
        if (!res.complete) throw new Aborted(`the answer from ${url.host} ended early`)
      }),
      cancel: () => {
        exchange.cancel()
        res.destroy()
      }
    }
  }

  isHealthy (): boolean {
    if (this.closed) return false
    return Object.values(this.agent.requests).every(queue => queue === undefined || queue.length === 0)
  }

  stats (): ClientStats {
    return this.counter.snapshot({ active: countSockets(this.agent.sockets), idle: countSockets(this.agent.freeSockets) })
  }

  async startWarmup (instances: AsyncIterable<readonly string[]>, signal: AbortSignal): Promise<void> {
    await eachInstanceList(instances, signal, () => this.closed, list => {
      for (const address of list) {
        const origin = httpOrigin(address)
        if (this.warmed.has(origin)) continue
        this.warmed.add(origin)
        void this.warm(origin, signal)
      }
    }, this.log)
  }

  async close (options: CloseOptions = {}): Promise<void> {
    this.closed = true
    const timeoutMs = options.timeoutMs ?? 5000
    await settleWithin(this.inFlight, timeoutMs)
    const sockets = [...Object.values(this.agent.sockets), ...Object.values(this.agent.freeSockets)].flatMap(list => list ?? [])
    this.agent.destroy()
    // The agent forgets a socket on its 'close' event: wait for them, so stats() says 0 after.
    await Promise.all(sockets.map(async socket => { if (!socket.closed) await once(socket, 'close') }))
  }

  /** One GET through the pool, so its connection stays idle there for the first request. */
  private async warm (origin: string, signal: AbortSignal): Promise<void> {
    try {
      const req = httpRequest(`${origin}${this.warmupPath}`, { method: 'GET', agent: this.agent, signal })
      const res = await this.response(req, new Uint8Array(0))
      res.resume()
      this.log('warmed %s (%d)', origin, res.statusCode)
    } catch (err) {
      this.log('warm-up of %s failed: %s', origin, (err as Error).message)
    }
  }

  private async response (req: ClientRequest, payload: Uint8Array): Promise<IncomingMessage> {
    return await new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', res => {
        // Later errors (a destroy after the answer began) reach the body's reader; log them here.
        req.on('error', err => { this.log('request to %s ended: %s', req.host, err.message) })
        resolve(res)
      })
      req.once('error', reject)
      req.end(payload.length === 0 ? undefined : payload)
    })
  }
}

/** The live sockets of an agent's table (a destroyed free socket can stay listed there a while). */
function countSockets (table: NodeJS.ReadOnlyDict<Array<{ destroyed: boolean }>>): number {
  let count = 0
  for (const list of Object.values(table)) {
    for (const socket of list ?? []) if (!socket.destroyed) count++
  }
  return count
}

function flatHeaders (res: IncomingMessage): RequestHeaders {
  const out: RequestHeaders = {}
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

/** Node's Buffers as plain Uint8Arrays over the same bytes (a caller comparing bytes gets no Buffer). */
async function * plain (res: IncomingMessage): AsyncGenerator<Uint8Array> {
  for await (const chunk of res) yield new Uint8Array((chunk as Buffer).buffer, (chunk as Buffer).byteOffset, (chunk as Buffer).length)
}
