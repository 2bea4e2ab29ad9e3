import { ReadableStream } from 'node:stream/web'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Libp2p, Logger } from '@libp2p/interface'
import { hashArg } from '../../store/bao/validate.js'
import { fromHex, toHex } from '../../store/hash-text.js'
import { taskIdOf } from '../origin/task-id.js'
import { HashRing } from '../routing/hash-ring.js'
import { BufferTooSmall, ClientClosed } from './errors.js'
import { GetRun } from './get-run.js'
import type { ReadAnswer } from './seed-answer.js'
import { HttpRequestClient } from './http-client.js'
import type { RequestHeaders, RequestPlaneClient, TransportName } from './interface.js'
import { Libp2pRequestClient } from './libp2p-client.js'
import { type SeedRef, seedRef } from './seed-address.js'
import { SeedHealth } from './seed-health.js'
import { SeedList } from './seed-list.js'

export interface RequestClientInit {
  /**
   * The seeds: `host:port` (or `http://host:port`) for a seed's HTTP gateway (`verity serve
   * --seed --http <host:port>`), or a multiaddr ending in `/p2p/<peer id>` for a seed reached
   * over libp2p (`verity serve --seed`); all of one kind. On the ring a seed is its `host:port`
   * or its peer id.
   */
  seeds: Iterable<string>
  /** @default an HttpRequestClient for HTTP seeds, a Libp2pRequestClient on `libp2p` for libp2p seeds (closed by close()) */
  transport?: RequestPlaneClient
  /** The libp2p node libp2p seeds are reached from when no `transport` is given (a VerityNode's `libp2p`). */
  libp2p?: Libp2p
  /**
   * Ask seeds for the encoded range stream (`Accept: application/x-bao`) and check every 16 KiB
   * group of the body against the blob's hash before handing it on; false takes the seed's bytes
   * as they are. Per get too.
   * @default true
   */
  verify?: boolean
  /** @default DEFAULT_VIRTUAL_NODES (1024) */
  virtualNodes?: number
  /**
   * How long a seed that failed is skipped; doubles with each failure in a row, up to 60 s.
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
  /** Sent to the seed (`Range` among them: only the bytes it names are sent, and with `verify` only their chunk groups). */
  headers?: RequestHeaders
  /** Query parameters left out of the task id (tokens, signatures). */
  filter?: string[]
  tag?: string
  application?: string
  /** The blob the URL must name (hex or bytes): SeedAnswerInvalid from a seed naming another. */
  hash?: string | Uint8Array
  /** @default the client's `verify` */
  verify?: boolean
  /** Milliseconds for the whole get, failover and body included; Timeout after. */
  timeout?: number
  signal?: AbortSignal
}

export interface SdkGetResponse {
  status: number
  /** As a plain answer has them: content-length, content-range, x-verity-hash, x-verity-task. */
  headers: RequestHeaders
  /**
   * The bytes as they arrive (verified, unless `verify` is false); breaking out of the loop stops
   * the transfer. A seed failing midway is replaced by the next one for the rest of the range.
   */
  body: AsyncIterable<Uint8Array>
  /** The body as a web ReadableStream instead (read one or the other); cancelling it stops the transfer. */
  readable: () => ReadableStream<Uint8Array>
  /** Stops the transfer without reading the body (an unread body holds its connection, and close() would wait for it). */
  cancel: () => void
  /** The seed that answered first and the task id it was chosen by. */
  seed: string
  /** The seeds that delivered bytes, in order; grows while the body is read if a seed fails midway. */
  servedBy: readonly string[]
  taskId: string
  /** The blob's BLAKE3 hash, hex. */
  hash: string
}

export interface SdkGetIntoResponse {
  status: number
  headers: RequestHeaders
  bytesWritten: number
  seed: string
  servedBy: readonly string[]
  taskId: string
  hash: string
}

/**
 * The request SDK (Dragonfly's, docs/request.md): each get goes to the seed that the task id of
 * its URL hashes to on the ring, so every request for one file, every range of it, reaches one
 * seed and the origin is asked once. The bytes are verified against the blob's hash as they
 * arrive (the seed sends the encoded range stream). A seed that fails is marked down and the
 * request goes to the next seed round the ring (lookupN), from the first byte not yet delivered;
 * a down seed is tried again after its backoff.
 */
export class RequestClient {
  readonly ring: HashRing
  readonly transportName: TransportName
  private readonly transport: RequestPlaneClient
  private readonly ownTransport: boolean
  private readonly health: SeedHealth
  private readonly log: Logger
  private readonly seedList: SeedList
  private readonly refs = new Map<string, SeedRef>()
  private readonly warming = new AbortController()
  private readonly verify: boolean
  private closed = false

  constructor (init: RequestClientInit) {
    const refs = [...init.seeds].map(seedRef)
    // Without seeds yet (a list to come from a file or a scheduler), `libp2p` says which kind they will be.
    const kind = init.transport?.transportName ?? refs[0]?.transport ?? (init.libp2p === undefined ? 'http' : 'libp2p')
    this.ring = new HashRing([], init.virtualNodes === undefined ? {} : { virtualNodes: init.virtualNodes })
    this.transportName = kind
    this.addSeeds(refs)
    this.ownTransport = init.transport === undefined
    this.transport = init.transport ?? ownTransport(kind, init)
    this.verify = init.verify ?? true
    this.health = new SeedHealth(init.backoffMs ?? 5000)
    this.log = (init.logger ?? defaultLogger()).forComponent('verity:request')
    this.seedList = new SeedList(this.addresses())
    if (init.warmup === true) {
      this.transport.startWarmup(this.seedList, this.warming.signal).catch((err: Error) => { this.log('warm-up ended: %s', err.message) })
    }
  }

  /** Replaces the seed list, live: only the keys of seeds added or removed move. */
  setSeeds (seeds: Iterable<string>): void {
    const refs = [...seeds].map(seedRef)
    const wanted = new Set(refs.map(ref => ref.id))
    for (const seed of this.ring.members()) {
      if (!wanted.has(seed)) {
        this.ring.remove(seed)
        this.refs.delete(seed)
        this.health.forget(seed)
      }
    }
    this.addSeeds(refs)
    this.seedList.set(this.addresses())
  }

  /** The seeds a get of `request` tries, in order (the first unless it is down), by their ids on the ring. */
  route (request: Pick<SdkGetRequest, 'url' | 'filter' | 'tag' | 'application'>): { taskId: string, seeds: string[] } {
    const taskId = taskIdOf(request.url, options(request))
    return { taskId, seeds: this.ring.size === 0 ? [] : this.ring.lookupN(taskId, this.ring.size) }
  }

  async get (request: SdkGetRequest): Promise<SdkGetResponse> {
    const { run, answer, taskId } = await this.open(request)
    const body = run.body(answer)
    const cancel = (): void => { run.cancel() }
    return {
      status: answer.status, headers: answer.headers, body, readable: () => readableOf(body, cancel), cancel,
      seed: run.servedBy[0] as string, servedBy: run.servedBy, taskId, hash: answer.hash
    }
  }

  /**
   * The body written into `buffer` from its start as it arrives, verified, without an
   * intermediate copy; BufferTooSmall before any byte is written when it cannot hold it.
   */
  async getInto (request: SdkGetRequest, buffer: Uint8Array): Promise<SdkGetIntoResponse> {
    if (!(buffer instanceof Uint8Array)) throw new TypeError(`buffer must be a Uint8Array, got ${typeof buffer}`)
    const { run, answer, taskId } = await this.open(request)
    const length = answer.end - answer.start
    if (length > buffer.length) {
      run.cancel()
      throw new BufferTooSmall(length, buffer.length)
    }
    let at = 0
    for await (const part of run.body(answer)) {
      buffer.set(part, at)
      at += part.length
    }
    return { status: answer.status, headers: answer.headers, bytesWritten: at, seed: run.servedBy[0] as string, servedBy: run.servedBy, taskId, hash: answer.hash }
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

  private async open (request: SdkGetRequest): Promise<{ run: GetRun, answer: ReadAnswer, taskId: string }> {
    if (this.closed) throw new ClientClosed()
    const { taskId, seeds } = this.route(request)
    const now = Date.now()
    const up = seeds.filter(seed => !this.health.isDown(seed, now))
    const down = seeds.filter(seed => this.health.isDown(seed, now))
    const run = new GetRun({ transport: this.transport, health: this.health, log: this.log, seed: id => this.refs.get(id) }, {
      query: query(request),
      headers: lowerCase(request.headers ?? {}),
      // Every seed down: try them all rather than fail without asking.
      candidates: up.length > 0 ? up : seeds,
      down: up.length > 0 ? down : [],
      verify: request.verify ?? this.verify,
      ...(request.hash === undefined ? {} : { hash: toHex(typeof request.hash === 'string' ? fromHex(request.hash) : hashArg('hash', request.hash)) }),
      ...(request.timeout === undefined ? {} : { timeout: request.timeout, deadline: Date.now() + request.timeout }),
      ...(request.signal === undefined ? {} : { signal: request.signal })
    })
    return { run, answer: await run.start(), taskId }
  }

  private addSeeds (refs: SeedRef[]): void {
    for (const ref of refs) {
      if (ref.transport !== this.transportName) throw new TypeError(`seed ${ref.address} is reached over ${ref.transport}, this client's seeds over ${this.transportName}: use one kind`)
      this.refs.set(ref.id, ref)
      this.ring.add(ref.id)
    }
  }

  private addresses (): string[] {
    return this.ring.members().map(id => (this.refs.get(id) as SeedRef).address)
  }
}

/** The request SDK over `init.seeds` (Dragonfly's Request SDK; docs/request.md). */
export function createRequestClient (init: RequestClientInit): RequestClient {
  return new RequestClient(init)
}

function ownTransport (kind: TransportName, init: RequestClientInit): RequestPlaneClient {
  const logger = init.logger === undefined ? {} : { logger: init.logger }
  if (kind === 'http') return new HttpRequestClient(logger)
  if (init.libp2p === undefined) throw new TypeError('libp2p seeds need `libp2p` (a node\'s libp2p) or a `transport`')
  return new Libp2pRequestClient(init.libp2p, logger)
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

function lowerCase (headers: RequestHeaders): RequestHeaders {
  const out: RequestHeaders = {}
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value
  return out
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
