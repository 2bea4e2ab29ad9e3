import { ReadableStream } from 'node:stream/web'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { Aborted, Timeout } from '../../protocol/errors.js'
import { OriginError } from '../origin/errors.js'
import { taskIdOf } from '../origin/task-id.js'
import { HashRing } from '../routing/hash-ring.js'
import { fromWire } from '../seed/errors.js'
import { BufferTooSmall, ClientClosed, NoSeedAvailable, RequestFailed, SeedUnavailable } from './errors.js'
import { HttpRequestClient } from './http-client.js'
import type { RequestHeaders, RequestPlaneClient, StreamResponse } from './interface.js'
import { SeedHealth } from './seed-health.js'
import { SeedList } from './seed-list.js'
import { collect, httpOrigin } from './util.js'

export interface RequestClientInit {
  /** The seeds' HTTP gateways, `host:port` (or `http://host:port`): `verity serve --seed --http <host:port>`. */
  seeds: Iterable<string>
  /** @default a new HttpRequestClient (closed by close()) */
  transport?: RequestPlaneClient
  /** @default DEFAULT_VIRTUAL_NODES (1024) */
  virtualNodes?: number
  /**
   * How long a seed that failed to connect is skipped; doubles with each failure in a row, up to 60 s.
   * @default 5000
   */
  backoffMs?: number
  /**
   * Connect to each seed ahead of its first get (the transport's startWarmup, fed the seed list
   * now and on each setSeeds).
   * @default false
   */
  warmup?: boolean
  /** Logs as `verity:request`. @default defaultLogger() of @libp2p/logger */
  logger?: ComponentLogger
}

export interface SdkGetRequest {
  url: string | URL
  /** Sent to the seed (`Range` among them: the seed answers 206 with those bytes). */
  headers?: RequestHeaders
  /** Query parameters left out of the task id (tokens, signatures). */
  filter?: string[]
  tag?: string
  application?: string
  /** Milliseconds for the whole get, failover and body included; Timeout after. */
  timeout?: number
  signal?: AbortSignal
}

export interface SdkGetResponse {
  status: number
  headers: RequestHeaders
  /** The bytes as they arrive; breaking out of the loop stops the transfer. */
  body: AsyncIterable<Uint8Array>
  /** The body as a web ReadableStream instead (read one or the other); cancelling it stops the transfer. */
  readable: () => ReadableStream<Uint8Array>
  /** The seed that answered and the task id it was chosen by. */
  seed: string
  taskId: string
}

export interface SdkGetIntoResponse {
  status: number
  headers: RequestHeaders
  bytesWritten: number
  seed: string
  taskId: string
}


/**
 * The request SDK (Dragonfly's, docs/request.md): each get goes to the seed that the task id of
 * its URL hashes to on the ring, so every request for one file, every range of it, reaches one
 * seed and the origin is asked once. A seed that fails to connect is marked down and the request
 * goes to the next seed round the ring (lookupN); a down seed is tried again after its backoff.
 */
export class RequestClient {
  readonly ring: HashRing
  private readonly transport: RequestPlaneClient
  private readonly ownTransport: boolean
  private readonly health: SeedHealth
  private readonly log: Logger
  private readonly seedList: SeedList
  private readonly warming = new AbortController()
  private closed = false

  constructor (init: RequestClientInit) {
    this.ring = new HashRing([...init.seeds].map(seedId), init.virtualNodes === undefined ? {} : { virtualNodes: init.virtualNodes })
    this.ownTransport = init.transport === undefined
    this.transport = init.transport ?? new HttpRequestClient(init.logger === undefined ? {} : { logger: init.logger })
    this.health = new SeedHealth(init.backoffMs ?? 5000)
    this.log = (init.logger ?? defaultLogger()).forComponent('verity:request')
    this.seedList = new SeedList(this.ring.members())
    if (init.warmup === true) {
      this.transport.startWarmup(this.seedList, this.warming.signal).catch((err: Error) => { this.log('warm-up ended: %s', err.message) })
    }
  }

  /** Replaces the seed list, live: only the keys of seeds added or removed move. */
  setSeeds (seeds: Iterable<string>): void {
    const wanted = new Set([...seeds].map(seedId))
    for (const seed of this.ring.members()) {
      if (!wanted.has(seed)) {
        this.ring.remove(seed)
        this.health.forget(seed)
      }
    }
    for (const seed of wanted) this.ring.add(seed)
    this.seedList.set(this.ring.members())
  }

  /** The seeds a get of `request` tries, in order (the first unless it is down). */
  route (request: Pick<SdkGetRequest, 'url' | 'filter' | 'tag' | 'application'>): { taskId: string, seeds: string[] } {
    const taskId = taskIdOf(request.url, options(request))
    return { taskId, seeds: this.ring.size === 0 ? [] : this.ring.lookupN(taskId, this.ring.size) }
  }

  async get (request: SdkGetRequest): Promise<SdkGetResponse> {
    const { response, cancel, ...rest } = await this.open(request)
    const body = guardBody(response.body, rest.seed, cancel)
    return { ...rest, status: response.status, headers: response.headers, body, readable: () => readableOf(body, cancel) }
  }

  /**
   * The body written into `buffer` from its start, without an intermediate copy when the seed
   * says the length (it does); BufferTooSmall before any byte is written when it cannot hold it.
   */
  async getInto (request: SdkGetRequest, buffer: Uint8Array): Promise<SdkGetIntoResponse> {
    if (!(buffer instanceof Uint8Array)) throw new TypeError(`buffer must be a Uint8Array, got ${typeof buffer}`)
    const { response, cancel, ...rest } = await this.open(request)
    const declared = response.headers['content-length']
    const body = guardBody(response.body, rest.seed, cancel)
    if (declared === undefined) {
      const all = await collect(body)
      if (all.length > buffer.length) throw new BufferTooSmall(all.length, buffer.length)
      buffer.set(all)
      return { ...rest, status: response.status, headers: response.headers, bytesWritten: all.length }
    }
    const length = Number(declared)
    if (length > buffer.length) {
      cancel()
      throw new BufferTooSmall(length, buffer.length)
    }
    let at = 0
    for await (const part of body) {
      if (at + part.length > buffer.length) throw new BufferTooSmall(at + part.length, buffer.length)
      buffer.set(part, at)
      at += part.length
    }
    return { ...rest, status: response.status, headers: response.headers, bytesWritten: at }
  }

  /** The transport's counters. */
  stats (): ReturnType<RequestPlaneClient['stats']> {
    return this.transport.stats()
  }

  /** Later gets fail with ClientClosed; the transport, if this client made it, drains and closes. */
  async close (options: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true
    this.warming.abort()
    this.seedList.end()
    if (this.ownTransport) await this.transport.close(options)
  }

  private async open (request: SdkGetRequest): Promise<{ response: StreamResponse, cancel: () => void, seed: string, taskId: string }> {
    if (this.closed) throw new ClientClosed()
    const { taskId, seeds } = this.route(request)
    const now = Date.now()
    const up = seeds.filter(seed => !this.health.isDown(seed, now))
    const down = seeds.filter(seed => this.health.isDown(seed, now))
    // Every seed down: try them all rather than fail without asking.
    const candidates = up.length > 0 ? up : seeds
    const deadline = request.timeout === undefined ? undefined : Date.now() + request.timeout
    const tried: Array<{ seed: string, error: Error }> = []
    for (const seed of candidates) {
      if (request.signal?.aborted === true) throw new Aborted('the get was aborted')
      const left = deadline === undefined ? undefined : deadline - Date.now()
      if (left !== undefined && left <= 0) throw new Timeout(`no answer in ${request.timeout ?? 0} ms`)
      let response: StreamResponse
      try {
        response = await this.transport.open(`http://${seed}/tasks?${query(request)}`, {
          headers: request.headers ?? {}, ...(left === undefined ? {} : { timeout: left }), ...(request.signal === undefined ? {} : { signal: request.signal })
        })
      } catch (err) {
        const error = err as Error
        if (error.name === 'Aborted' || error.name === 'Timeout' || error.name === 'ClientClosed' || error instanceof TypeError) throw error
        const until = this.health.markDown(seed, Date.now())
        this.log('seed %s failed (%s), down until %d; trying the next', seed, error.message, until)
        tried.push({ seed, error: new SeedUnavailable(seed, error) })
        continue
      }
      this.health.markUp(seed)
      if (response.status >= 400) throw await answerError(response, seed)
      return { response, cancel: response.cancel, seed, taskId }
    }
    throw new NoSeedAvailable(tried, up.length > 0 ? down : [])
  }
}

/** The request SDK over `init.seeds` (Dragonfly's Request SDK; docs/request.md). */
export function createRequestClient (init: RequestClientInit): RequestClient {
  return new RequestClient(init)
}

/** A seed's id on the ring: `host:port`. */
function seedId (seed: string): string {
  return new URL(httpOrigin(seed)).host
}

function options (request: Pick<SdkGetRequest, 'filter' | 'tag' | 'application'>): { filter?: string[], tag?: string, application?: string } {
  return {
    ...(request.filter === undefined ? {} : { filter: request.filter }),
    ...(request.tag === undefined ? {} : { tag: request.tag }),
    ...(request.application === undefined ? {} : { application: request.application })
  }
}

function query (request: SdkGetRequest): string {
  const params = new URLSearchParams({ url: String(request.url) })
  if (request.filter !== undefined && request.filter.length > 0) params.set('filter', request.filter.join(','))
  if (request.tag !== undefined && request.tag !== '') params.set('tag', request.tag)
  if (request.application !== undefined && request.application !== '') params.set('application', request.application)
  return params.toString()
}

/** A seed's error answer as its named error: an origin's (OriginError, with the status the seed answered) or RequestFailed. */
async function answerError (response: StreamResponse, seed: string): Promise<Error> {
  const body = await collect(response.body)
  try {
    const wire = JSON.parse(new TextDecoder().decode(body)) as { error?: unknown, message?: unknown, url?: unknown }
    if (typeof wire.error === 'string' && typeof wire.message === 'string') {
      const error = fromWire({ type: 'error', name: wire.error, message: wire.message, status: response.status, ...(typeof wire.url === 'string' ? { url: wire.url } : {}) })
      if (error instanceof OriginError) return error
    }
  } catch {
    // Not JSON: the seed's own plain-text answer, below.
  }
  return new RequestFailed(response.status, body, `seed ${seed} answered ${response.status}: ${new TextDecoder().decode(body.subarray(0, 200)).trim()}`)
}

/** `body` with a seed's failure mid-body as SeedUnavailable (Aborted and Timeout as they are); leaving early cancels. */
async function * guardBody (body: AsyncIterable<Uint8Array>, seed: string, cancel: () => void): AsyncGenerator<Uint8Array> {
  let done = false
  try {
    for await (const part of body) yield part
    done = true
  } catch (err) {
    const error = err as Error
    if (error.name === 'Aborted' || error.name === 'Timeout') throw error
    throw new SeedUnavailable(seed, error)
  } finally {
    if (!done) cancel()
  }
}

/** `body` pulled by a web ReadableStream; cancelling the stream ends the body and the transfer. */
function readableOf (body: AsyncGenerator<Uint8Array>, cancel: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      try {
        const next = await body.next()
        if (next.done === true) controller.close()
        else controller.enqueue(next.value)
      } catch (err) {
        controller.error(err)
      }
    },
    async cancel () {
      cancel()
      await body.return(undefined)
    }
  }, { highWaterMark: 0 })
}
