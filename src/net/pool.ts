import type { Connection, Libp2p, Logger } from '@libp2p/interface'
import { countBytes } from '../../protocol/count.js'
import { untilAborted } from '../../store/abort.js'
import { Aborted, Timeout } from '../../protocol/errors.js'
import type { ByteStream } from '../../protocol/interface.js'
import { byteStream } from './stream.js'
import { resolvePeer, type PeerTarget } from './peer.js'
import { relayLimitError } from './relay-limit.js'

export interface PoolOptions {
  /** @default 10000 */
  connectTimeoutMs?: number
  /** A connection with no request for this long is closed. @default 30000 */
  idleTimeoutMs?: number
  /** Open connections at most; the least recently used idle one makes room. @default 64 */
  maxConnections?: number
}

export interface PoolStats {
  requestsSent: number
  responsesReceived: number
  errors: number
  bytesSent: number
  bytesReceived: number
  /** Connections with a request in flight. */
  activeConnections: number
  idleConnections: number
  /** Mean time from opening a request to its first response byte, in microseconds. */
  averageLatencyUs: number
}

/** The pool is closed: no new requests. */
export class PoolClosed extends Error {
  static override name = 'PoolClosed'
  constructor (message = 'the connection pool is closed') {
    super(message)
    this.name = 'PoolClosed'
  }
}

/** Every pooled connection is busy and the pool is at its limit. */
export class TooManyConnections extends Error {
  static override name = 'TooManyConnections'
  constructor (message = 'every pooled connection is busy') {
    super(message)
    this.name = 'TooManyConnections'
  }
}

/** One request's stream, counted; call `release` exactly once when the request ends. */
export interface PooledStream {
  stream: ByteStream
  /** The protocol the peer agreed to. */
  protocol: string
  release: (error?: Error) => void
}

interface PeerEntry {
  id: string
  connection: Connection | undefined
  dialing: Promise<Connection> | undefined
  active: number
  lastUsed: number
  idleTimer: NodeJS.Timeout | undefined
}

/** Outcomes remembered for isHealthy(). */
const HEALTH_WINDOW = 20

/**
 * One shared connection per peer, opened on first use, closed after idling, bounded in number,
 * with the statistics a request-plane client reports.
 */
export class ConnectionPool {
  private readonly peers = new Map<string, PeerEntry>()
  private readonly inFlight = new Set<Promise<void>>()
  private readonly recent: boolean[] = []
  private closed = false
  private latencyTotalUs = 0
  private latencyCount = 0
  private readonly counters = { requestsSent: 0, responsesReceived: 0, errors: 0, bytesSent: 0, bytesReceived: 0 }
  private readonly log: Logger

  constructor (private readonly libp2p: Libp2p, private readonly options: PoolOptions = {}) {
    this.log = libp2p.logger.forComponent('verity:pool')
  }

  /**
   * The shared connection to a peer, dialled if needed (its addresses tried in turn). A caller's
   * signal ends its own wait; the dial goes on for the others until the connect timeout.
   */
  async connect (target: PeerTarget, options: { signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.closed) throw new PoolClosed()
    const peer = resolvePeer(target)
    let entry = this.peers.get(peer.id)
    if (entry === undefined) {
      entry = { id: peer.id, connection: undefined, dialing: undefined, active: 0, lastUsed: Date.now(), idleTimer: undefined }
      this.peers.set(peer.id, entry)
    }
    if (entry.connection?.status === 'open') return entry.connection
    entry.dialing ??= this.dial(entry, peer)
    return await untilAborted(entry.dialing, options.signal)
  }

  private dial (entry: PeerEntry, peer: ReturnType<typeof resolvePeer>): Promise<Connection> {
    const timeoutMs = this.options.connectTimeoutMs ?? 10000
    const timeout = AbortSignal.timeout(timeoutMs)
    const started = performance.now()
    const dialing = (async () => {
      try {
        await this.makeRoom(entry)
        this.log('dialling %s (%d addresses)', peer.id, peer.addrs.length)
        const connection = await this.libp2p.dial(peer.addrs.length > 0 ? peer.addrs : peer.peerId, { signal: timeout })
        entry.connection = connection
        this.log('connected to %s over %s in %d ms', peer.id, connection.remoteAddr.toString(), Math.round(performance.now() - started))
        return connection
      } catch (err) {
        const error = timeout.aborted
          ? new Timeout(`no connection to ${peer.id} within ${timeoutMs} ms`)
          : addressTimedOut(err)
            ? Object.assign(new Timeout(`no connection to ${peer.id}: ${peer.addrs.length === 1 ? 'its address' : 'each address'} timed out (libp2p gives one address 6 s)`), { cause: err })
            : err as Error
        this.log('no connection to %s: %s: %s', peer.id, error.name, error.message)
        throw error
      } finally {
        entry.dialing = undefined
      }
    })()
    dialing.catch(() => {}) // every caller that still waits gets the failure
    return dialing
  }

  /** Open a stream for one request, offering `protocols` in order of preference. */
  async open (target: PeerTarget, protocols: string[], options: { signal?: AbortSignal } = {}): Promise<PooledStream> {
    if (this.closed) throw new PoolClosed()
    const id = resolvePeer(target).id
    const started = performance.now()
    this.counters.requestsSent++
    let entry: PeerEntry | undefined
    let settle!: () => void
    const settled = new Promise<void>(resolve => { settle = resolve })
    this.inFlight.add(settled)
    let released = false
    const release = (error?: Error): void => {
      if (released) return
      released = true
      if (error === undefined) this.counters.responsesReceived++
      else this.counters.errors++
      this.remember(error === undefined)
      if (entry !== undefined) {
        entry.active--
        entry.lastUsed = Date.now()
        if (entry.active === 0) this.scheduleIdle(entry)
      }
      this.inFlight.delete(settled)
      settle()
    }
    try {
      const connection = await this.connect(target, options)
      entry = this.peers.get(id) as PeerEntry
      entry.active++
      if (entry.idleTimer !== undefined) { clearTimeout(entry.idleTimer); entry.idleTimer = undefined }
      // A relayed connection has limits (bytes, time): verity's protocols run on it all the same.
      const raw = await connection.newStream(protocols, { runOnLimitedConnection: true, ...(options.signal === undefined ? {} : { signal: options.signal }) })
      const inner = byteStream(raw)
      let first = true
      const counted: ByteStream = {
        source: relayCut(connection, countBytes(inner.source, n => {
          if (first) {
            first = false
            this.latencyTotalUs += (performance.now() - started) * 1000
            this.latencyCount++
          }
          this.counters.bytesReceived += n
        })),
        write: async bytes => {
          this.counters.bytesSent += bytes.length
          try {
            await inner.write(bytes)
          } catch (err) {
            throw relayLimitError(err, connection) ?? err
          }
        },
        closeWrite: inner.closeWrite,
        closeRead: inner.closeRead,
        abort: inner.abort,
        closed: inner.closed
      }
      return { stream: counted, protocol: raw.protocol, release }
    } catch (err) {
      const error = asError(err, id)
      release(error)
      throw error
    }
  }

  stats (): PoolStats {
    let active = 0
    let idle = 0
    for (const entry of this.peers.values()) {
      if (entry.connection?.status !== 'open') continue
      if (entry.active > 0) active++
      else idle++
    }
    return {
      ...this.counters,
      activeConnections: active,
      idleConnections: idle,
      averageLatencyUs: this.latencyCount === 0 ? 0 : Math.round(this.latencyTotalUs / this.latencyCount)
    }
  }

  /** Open, and fewer than half of the last 20 requests failed. */
  isHealthy (): boolean {
    if (this.closed) return false
    const failures = this.recent.filter(ok => !ok).length
    return failures * 2 < Math.max(this.recent.length, 1) || this.recent.length === 0
  }

  /** Connect to each peer ahead of use; reports which could not be reached. */
  async warmup (peers: PeerTarget[], options: { signal?: AbortSignal } = {}): Promise<{ connected: number, failed: Array<{ peer: PeerTarget, error: Error }> }> {
    const results = await Promise.allSettled(peers.map(async peer => this.connect(peer, options)))
    const failed: Array<{ peer: PeerTarget, error: Error }> = []
    results.forEach((result, i) => { if (result.status === 'rejected') failed.push({ peer: peers[i] as PeerTarget, error: result.reason as Error }) })
    return { connected: peers.length - failed.length, failed }
  }

  /**
   * Stop taking requests, let those in flight finish (or give up on them after `timeoutMs`),
   * then close every pooled connection.
   */
  async close (options: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true
    const timeoutMs = options.timeoutMs ?? 10000
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all([...this.inFlight]),
      new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })
    ])
    clearTimeout(timer)
    await Promise.all([...this.peers.values()].map(async entry => {
      if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer)
      await entry.connection?.close().catch(err => entry.connection?.abort(err as Error))
    }))
    this.peers.clear()
  }

  private remember (ok: boolean): void {
    this.recent.push(ok)
    if (this.recent.length > HEALTH_WINDOW) this.recent.shift()
  }

  private scheduleIdle (entry: PeerEntry): void {
    if (this.closed) return
    const idleMs = this.options.idleTimeoutMs ?? 30000
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined
      if (entry.active > 0) return
      this.peers.delete(entry.id)
      this.log('closing the connection to %s: idle for %d ms', entry.id, idleMs)
      entry.connection?.close().catch(err => entry.connection?.abort(err as Error))
    }, idleMs)
    entry.idleTimer.unref()
  }

  /** At the limit: close the least recently used idle connection, or refuse. */
  private async makeRoom (entry: PeerEntry): Promise<void> {
    const max = this.options.maxConnections ?? 64
    const open = [...this.peers.values()].filter(e => e !== entry && (e.connection?.status === 'open' || e.dialing !== undefined))
    if (open.length < max) return
    const idle = open.filter(e => e.active === 0 && e.dialing === undefined).sort((a, b) => a.lastUsed - b.lastUsed)[0]
    if (idle === undefined) throw new TooManyConnections(`all ${max} pooled connections are busy`)
    if (idle.idleTimer !== undefined) clearTimeout(idle.idleTimer)
    this.peers.delete(idle.id)
    this.log('closing the idle connection to %s to make room for %s (%d open)', idle.id, entry.id, open.length)
    await idle.connection?.close().catch(err => idle.connection?.abort(err as Error))
  }
}

/**
 * Errors from opening a stream, named: libp2p rejects some waits during protocol negotiation with
 * the event that ended them (a stream's close event), and the QUIC transport reports a connection
 * that went silent as a plain Error "timed out".
 */
function asError (err: unknown, peer: string): Error {
  if (err instanceof Error) {
    if (err.name === 'Error' && err.message === 'timed out') return Object.assign(new Timeout(`the connection to ${peer} timed out: the peer stopped answering`), { cause: err })
    return err
  }
  const inner = (err as { error?: unknown } | undefined)?.error
  if (inner instanceof Error) return inner
  return new Aborted(`the stream closed while its protocol was negotiated (${String((err as { type?: unknown } | undefined)?.type ?? err)})`)
}

/**
 * A stream's bytes, its failure on a relayed connection named RelayLimitReached (the relay cut the
 * connection at its limit); a relayed stream that ends while its connection has closed is one too.
 */
async function * relayCut (connection: Connection, source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (connection.limits === undefined) return yield * source
  try {
    yield * source
  } catch (err) {
    throw relayLimitError(err, connection) ?? err
  }
  if (connection.status !== 'open') throw relayLimitError(new Error(`the connection is ${connection.status}`), connection) as Error
}

/**
 * Whether libp2p's dial failed on its own per-address deadline: a TimeoutError (the signal's
 * reason) as the error or a cause of it (a noise handshake cut short is EncryptionFailedError).
 */
function addressTimedOut (err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e.name === 'TimeoutError' || e.message === 'The operation was aborted due to timeout') return true
  }
  return false
}
