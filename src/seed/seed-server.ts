import type { ComponentLogger, Logger } from '@libp2p/interface'
import { Aborted, MalformedMessage, Timeout } from '../../protocol/errors.js'
import type { ByteStream } from '../../protocol/interface.js'
import { Slots } from '../../protocol/provider/admission.js'
import { untilAborted } from '../../store/abort.js'
import { toHex } from '../../store/hash-text.js'
import type { AddressPolicy, OriginImportOptions, OriginImportProgress, OriginImportResult } from '../origin/interface.js'
import type { Origins } from '../origin/origins.js'
import { safeUrlOf } from '../origin/safe-url.js'
import { urlArg } from '../origin/task-id.js'
import { MAX_MESSAGE_BYTES, PROGRESS_EVERY_MS } from './constants.js'
import { toWire } from './errors.js'
import { encodeFrame, FrameReader } from './frames.js'
import type { SeedAnswer, SeedInit, SeedLimits, SeedRequest, TaskAsk } from './interface.js'
import { decodeSeedRequest } from './messages.js'
import { checkAllowed, normalPrefix } from './policy.js'

export const DEFAULT_SEED_LIMITS: Readonly<SeedLimits> = Object.freeze({
  maxMessageBytes: MAX_MESSAGE_BYTES,
  maxTasksPerPeer: 8,
  maxTasks: 256,
  requestTimeoutMs: 10000,
  taskTimeoutMs: 3600000,
  maxPreheatUrls: 100
})

/** How long a stream answered with an error may stay open for the requester to read it, before it is reset. */
const LINGER_MS = 5000

export interface SeedComponents {
  origins: Origins
  /** Logs as `verity:seed`. */
  logger: ComponentLogger
}

/**
 * The seed side of /verity/task/1: one request per stream, read with a size limit and a deadline,
 * admitted against per-peer and node-wide limits (RateLimited past them, at once), checked against
 * the policy (Permission), then answered: a task by importing its URL through `origins.import`
 * (single flight: many requesters, one origin fetch), with progress every second until the hash is
 * known; a preheat by starting it; a preheat's status. Every failure becomes an error message
 * naming it; one request's failure never touches another.
 *
 * Every import it starts for others reaches public addresses only (`addressPolicy`), save for
 * URLs under the operator's own prefixes (`init.origins`): a peer cannot make it fetch from
 * loopback, the private network or the cloud metadata address and read the answer as a blob.
 */
export class SeedServer {
  readonly limits: Readonly<SeedLimits>
  private readonly log: Logger
  private readonly tasks: Slots
  private readonly peers = new Map<string, Slots>()
  private readonly stopping = new AbortController()
  private readonly origins: readonly string[] | undefined
  /** Public addresses only, but any address under a prefix the operator listed (they chose those origins). */
  readonly addressPolicy: Readonly<AddressPolicy>

  constructor (private readonly components: SeedComponents, private readonly init: SeedInit = {}) {
    this.log = components.logger.forComponent('verity:seed')
    this.limits = Object.freeze({ ...DEFAULT_SEED_LIMITS, ...init.limits })
    this.tasks = new Slots('seed requests', this.limits.maxTasks, 0)
    this.origins = init.origins?.map(normalPrefix)
    this.addressPolicy = Object.freeze({ reach: 'public', privateAllowed: Object.freeze([...this.origins ?? []]) })
  }

  /** Requests being answered now. */
  get active (): number {
    return this.tasks.inUse
  }

  /** Whether this seed fetches `url` (its URL prefixes; Permission if not), for askers without a peer id (HTTP). */
  async checkUrl (url: URL, shown: string): Promise<void> {
    await checkAllowed('all', this.origins, '', url, shown)
  }

  /**
   * Import `url` for an asker of `/tasks`: checked against the URL prefixes and, when the asker
   * has a peer id (`/verity/request/1`), against who may ask (Permission); an HTTP client has
   * none, and only the prefixes apply. Imported under the seed's address policy
   * (OriginForbiddenAddress for an address that is not public).
   */
  async importFor (url: URL, shown: string, options: Omit<OriginImportOptions, 'addressPolicy'>, peer?: string): Promise<OriginImportResult> {
    if (peer === undefined) await this.checkUrl(url, shown)
    else await checkAllowed(this.init.allow ?? 'all', this.origins, peer, url, shown)
    return await this.components.origins.import(url, { ...options, addressPolicy: this.addressPolicy })
  }

  /** Ends every request's wait (their requesters hear Aborted); imports shared with others go on. */
  stop (): void {
    this.stopping.abort(new Aborted('the seed is stopping'))
  }

  /** Answer one stream from `peer`. Never throws. */
  async serve (stream: ByteStream, peer: string): Promise<void> {
    let answered = false
    const answer = async (message: SeedAnswer): Promise<void> => { await stream.write(encodeFrame(message)) }
    const releases: Array<() => void> = []
    try {
      // Places first, before a byte is read: a peer cannot hold streams open reading slowly past its share.
      releases.push(await this.peerSlots(peer).acquire(undefined, { wait: false }))
      releases.push(await this.tasks.acquire(undefined, { wait: false }))
      const request = await this.read(stream)
      const signal = this.deadline(stream, request)
      await this.dispatch(request, peer, answer, signal.signal).finally(signal.stop)
      answered = true
      await stream.closeWrite()
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      this.log('request from %s failed: %s: %s', peer, error.name, error.message)
      if (!answered && !stream.closed.aborted) {
        try {
          await answer(toWire(error))
          await stream.closeWrite()
        } catch (writeErr) {
          this.log('could not tell %s why: %s', peer, (writeErr as Error).message)
        }
      }
      this.linger(stream)
    } finally {
      for (const release of releases.reverse()) release()
      if (this.peerSlots(peer).inUse === 0) this.peers.delete(peer)
    }
  }

  /** The dispatcher: one handler per kind. */
  private async dispatch (request: SeedRequest, peer: string, answer: (message: SeedAnswer) => Promise<void>, signal: AbortSignal): Promise<void> {
    switch (request.type) {
      case 'task': return await this.task(request, peer, answer, signal)
      case 'preheat': {
        if (request.urls.length > this.limits.maxPreheatUrls) throw new MalformedMessage(`a preheat may name ${this.limits.maxPreheatUrls} URLs, not ${request.urls.length}`)
        const urls = request.urls.map(url => urlArg(url))
        for (const url of urls) await checkAllowed(this.init.allow ?? 'all', this.origins, peer, url, safeUrlOf(url, request.filter))
        const { type: _type, urls: _urls, ...options } = request
        const status = this.components.origins.preheat(urls, { ...options, addressPolicy: this.addressPolicy })
        this.log('preheat %s of %d URLs for %s', status.id, urls.length, peer)
        return await answer({ type: 'preheat', status })
      }
      case 'preheatStatus': {
        const status = this.components.origins.preheatStatus(request.id)
        if (status === undefined) throw new MalformedMessage(`no preheat ${request.id.slice(0, 64)} is known here (statuses are kept 24 hours)`)
        return await answer({ type: 'preheat', status })
      }
      default: {
        const never: never = request
        throw new MalformedMessage(`unknown request ${String(never)}`)
      }
    }
  }

  /** A task: the URL imported (or known), progress each second meanwhile, then its hash. */
  private async task (ask: TaskAsk, peer: string, answer: (message: SeedAnswer) => Promise<void>, signal: AbortSignal): Promise<void> {
    const url = urlArg(ask.url)
    const shown = safeUrlOf(url, ask.filter)
    await checkAllowed(this.init.allow ?? 'all', this.origins, peer, url, shown)
    const progress = new ImportProgress()
    const { url: _url, ...options } = ask
    const handle = this.components.origins.import(url, { ...options, addressPolicy: this.addressPolicy, signal, onProgress: event => { progress.see(event) } })
    this.log('task %s for %s: %s', this.components.origins.taskId(url, ask), peer, shown)
    let settled = false
    const outcome = handle.result.finally(() => { settled = true })
    outcome.catch(() => {})
    while (!settled) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([outcome.catch(() => {}), new Promise(resolve => { timer = setTimeout(resolve, PROGRESS_EVERY_MS) })])
      clearTimeout(timer)
      if (!settled) await untilAborted(answer(progress.message()), signal)
    }
    const result = await outcome
    await answer({ type: 'task', taskId: result.taskId, hash: toHex(result.hash), size: result.size, format: result.format, source: result.source })
  }

  private async read (stream: ByteStream): Promise<SeedRequest> {
    const timer = new AbortController()
    const timeout = setTimeout(() => { timer.abort(new Timeout(`no complete request within ${this.limits.requestTimeoutMs} ms`)) }, this.limits.requestTimeoutMs)
    try {
      const message = await untilAborted(new FrameReader(stream.source, this.limits.maxMessageBytes).next(), AbortSignal.any([timer.signal, stream.closed]))
      if (message === undefined) throw new MalformedMessage('the stream ended before a request')
      return decodeSeedRequest(message)
    } finally {
      clearTimeout(timeout)
    }
  }

  /** A request's signal: the requester gone, the seed stopping, or taskTimeoutMs passed (Timeout). */
  private deadline (stream: ByteStream, request: SeedRequest): { signal: AbortSignal, stop: () => void } {
    const timer = new AbortController()
    const timeout = setTimeout(() => { timer.abort(new Timeout(`the ${request.type} took longer than ${this.limits.taskTimeoutMs} ms`)) }, this.limits.taskTimeoutMs)
    return { signal: AbortSignal.any([timer.signal, stream.closed, this.stopping.signal]), stop: () => { clearTimeout(timeout) } }
  }

  /** After an error answer, give the requester LINGER_MS to read it and close, then reset. */
  private linger (stream: ByteStream): void {
    if (stream.closed.aborted) return
    const timer = setTimeout(() => { stream.abort(new Timeout('the requester did not close after the answer')) }, LINGER_MS)
    timer.unref()
    stream.closed.addEventListener('abort', () => { clearTimeout(timer) }, { once: true })
  }

  private peerSlots (peer: string): Slots {
    let slots = this.peers.get(peer)
    if (slots === undefined) {
      slots = new Slots(`seed requests of peer ${peer}`, this.limits.maxTasksPerPeer, 0)
      this.peers.set(peer, slots)
    }
    return slots
  }
}

/** What a waiting requester is told: bytes staged of the total, over every file of a directory. */
class ImportProgress {
  private total: number | undefined
  private readonly files = new Map<string, number>()

  see (event: OriginImportProgress): void {
    if (event.type === 'origin:head') this.total ??= event.detail.total
    else if (event.type === 'origin:resume') this.files.set(event.detail.taskId, event.detail.staged)
    else if (event.type === 'origin:piece') this.files.set(event.detail.taskId, event.detail.bytes)
  }

  message (): SeedAnswer {
    let bytes = 0
    for (const value of this.files.values()) bytes += value
    return { type: 'progress', bytes, ...(this.total === undefined ? {} : { total: this.total }) }
  }
}
