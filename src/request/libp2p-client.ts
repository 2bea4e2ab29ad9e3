import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Libp2p, Logger } from '@libp2p/interface'
import { ConnectionPool, type PoolOptions } from '../net/pool.js'
import { ClientClosed } from './errors.js'
import type { ClientStats, CloseOptions, OpenOptions, RequestHeaders, RequestPlaneClient, SendOptions, StreamResponse } from './interface.js'
import { encodeHead, headersOf, readHead, REQUEST_PROTOCOL } from './libp2p-frames.js'
import { Exchange } from './exchange.js'
import { PeerSlots } from './peer-slots.js'
import { StatsCounter } from './stats.js'
import { eachInstanceList, sendVia, settleWithin } from './util.js'

export interface Libp2pClientInit extends PoolOptions {
  /**
   * Requests open to one peer at once; more wait their turn (isHealthy is then false). A seed
   * answers more than its limit from one peer (`maxPerPeer`, 8 by default) with 429.
   * @default 8
   */
  maxRequestsPerPeer?: number
  /** Logs as `verity:request:libp2p`. @default defaultLogger() of @libp2p/logger */
  logger?: ComponentLogger
}

/**
 * The request plane over libp2p: `/verity/request/1` streams (libp2p-frames.ts) over its own
 * ConnectionPool on `libp2p` (one connection per peer, closed by close()). An address is a
 * multiaddr with the peer id, then optionally `#<path>`: `/ip4/10.0.0.1/tcp/4001/p2p/12D3...#/echo`.
 */
export class Libp2pRequestClient implements RequestPlaneClient {
  readonly transportName = 'libp2p' as const
  private readonly pool: ConnectionPool
  private readonly counter = new StatsCounter()
  private readonly inFlight = new Map<Promise<void>, (err: Error) => void>()
  private readonly warmed = new Set<string>()
  private readonly slots: PeerSlots
  private readonly log: Logger
  private closed = false

  constructor (libp2p: Libp2p, init: Libp2pClientInit = {}) {
    this.pool = new ConnectionPool(libp2p, init)
    this.slots = new PeerSlots(init.maxRequestsPerPeer ?? 8)
    this.log = (init.logger ?? defaultLogger()).forComponent('verity:request:libp2p')
  }

  async sendRequest (address: string, payload: Uint8Array, headers: RequestHeaders = {}, options: SendOptions = {}): Promise<Uint8Array> {
    return await sendVia(async (to, opts) => await this.open(to, opts), address, payload, headers, options)
  }

  async open (address: string, options: OpenOptions = {}): Promise<StreamResponse> {
    if (this.closed) throw new ClientClosed()
    const { peer, path } = splitAddress(address)
    const payload = options.payload ?? new Uint8Array(0)
    const controller = new AbortController()
    let release: (error?: Error) => void = () => {}
    let giveBack: () => void = () => {}
    let abortStream: (err: Error) => void = () => {}
    const exchange: Exchange = new Exchange(this.counter, payload.length, options, peer, err => {
      controller.abort(err)
      abortStream(err)
    }, err => {
      release(err)
      giveBack()
      this.inFlight.delete(exchange.done)
    })
    this.inFlight.set(exchange.done, err => { exchange.fail(err) })
    let head: Record<string, unknown>
    let rest: AsyncIterable<Uint8Array>
    try {
      if (exchange.failure !== undefined) throw exchange.failure
      giveBack = await this.slots.take(peer, controller.signal)
      const pooled = await this.pool.open(peer, [REQUEST_PROTOCOL], { signal: controller.signal })
      release = pooled.release
      abortStream = err => { pooled.stream.abort(err) }
      if (exchange.failure !== undefined) throw exchange.failure
      await pooled.stream.write(encodeHead({ path, method: options.method ?? (payload.length === 0 ? 'GET' : 'POST'), headers: options.headers ?? {}, length: payload.length }))
      if (payload.length > 0) await pooled.stream.write(payload)
      await pooled.stream.closeWrite()
      ;({ head, rest } = await readHead(pooled.stream.source))
    } catch (err) {
      throw exchange.failed(err)
    }
    return {
      status: Number(head.status),
      headers: headersOf(head.headers),
      body: exchange.body(rest),
      cancel: () => { exchange.cancel() }
    }
  }

  isHealthy (): boolean {
    return !this.closed && this.pool.isHealthy() && !this.slots.queued
  }

  stats (): ClientStats {
    const pool = this.pool.stats()
    return this.counter.snapshot({ active: pool.activeConnections, idle: pool.idleConnections })
  }

  async startWarmup (instances: AsyncIterable<readonly string[]>, signal: AbortSignal): Promise<void> {
    await eachInstanceList(instances, signal, () => this.closed, list => {
      const fresh = list.map(address => splitAddress(address).peer).filter(peer => !this.warmed.has(peer))
      for (const peer of fresh) this.warmed.add(peer)
      if (fresh.length > 0) {
        this.pool.warmup(fresh, { signal }).then(result => {
          for (const failed of result.failed) this.log('warm-up of %s failed: %s', String(failed.peer), failed.error.message)
        }, (err: Error) => { this.log('warm-up failed: %s', err.message) })
      }
    }, this.log)
  }

  async close (options: CloseOptions = {}): Promise<void> {
    this.closed = true
    const timeoutMs = options.timeoutMs ?? 5000
    await settleWithin(this.inFlight.keys(), timeoutMs)
    // A graceful close of the connection would let a stream end as if complete: fail them first.
    for (const fail of this.inFlight.values()) fail(new ClientClosed('the request client closed before this request finished'))
    await this.pool.close({ timeoutMs: 0 })
  }
}

/** `<multiaddr>#<path>`: the peer and the path (`/` when none). */
function splitAddress (address: string): { peer: string, path: string } {
  if (typeof address !== 'string' || !address.startsWith('/')) throw new TypeError(`address must be a multiaddr, optionally #<path>, got ${JSON.stringify(address)}`)
  const at = address.indexOf('#')
  return at === -1 ? { peer: address, path: '/' } : { peer: address.slice(0, at), path: address.slice(at + 1) }
}
