import type { ComponentLogger, Logger } from '@libp2p/interface'
import type { ProgressEvent } from 'progress-events'
import { MalformedMessage, Timeout } from '../../protocol/errors.js'
import { untilAborted } from '../../store/abort.js'
import { fromHex, toHex } from '../../store/hash-text.js'
import { ProgressHandle } from '../../store/progress-handle.js'
import type { Downloader } from '../downloader/downloader.js'
import type { DownloadProgress, Strategy } from '../downloader/interface.js'
import type { PeerTarget } from '../net/peer.js'
import type { ConnectionPool } from '../net/pool.js'
import type { PreheatOptions, PreheatStatus, TaskOptions } from '../origin/interface.js'
import { MAX_ANSWER_BYTES, TASK_PROTOCOL } from './constants.js'
import { fromWire } from './errors.js'
import { encodeFrame, FrameReader } from './frames.js'
import type { SeedAnswer, SeedRequest, SeedTask } from './interface.js'
import { decodeSeedAnswer } from './messages.js'

/** Without a word from the seed for this long (it sends progress every second), a request fails with Timeout. */
export const SEED_IDLE_MS = 30000

export interface SeedRequestOptions extends TaskOptions {
  /** Sent to the origin by the seed; never logged. */
  headers?: Record<string, string>
  /** @default SEED_IDLE_MS */
  idleTimeoutMs?: number
  onProgress?: (event: SeedProgress) => void
  signal?: AbortSignal
}

export interface SeedGetOptions extends SeedRequestOptions {
  /** Other peers that may hold the blob, asked alongside the seed. */
  providers?: PeerTarget[]
  /** @default 'split' */
  strategy?: Strategy
  onDownload?: (item: DownloadProgress) => void
}

/** A task fetched through a seed: its blob is verified and complete in this node's store. */
export interface SeedGetResult extends SeedTask {
  /** Verified bytes that were here before (a resumed get). */
  localBytes: number
  /** Bytes read from the network for it. */
  bytesReceived: number
}

/**
 * What a seed request reports: `seed:progress` while the seed fetches from the origin (bytes of
 * the total staged there; each second), `seed:task` once the seed named the blob.
 */
export type SeedProgress =
  | ProgressEvent<'seed:progress', { bytes: number, total?: number }>
  | ProgressEvent<'seed:task', SeedTask>

export class SeedRequestHandle extends ProgressHandle<SeedTask, SeedProgress> {}
export class SeedGetHandle extends ProgressHandle<SeedGetResult, SeedProgress | DownloadProgress> {}

export interface SeedsComponents {
  pool: ConnectionPool
  downloader: Downloader
  logger: ComponentLogger
}

/**
 * The requesting side of /verity/task/1: ask a seed peer to fetch a URL from its origin (`request`),
 * and then fetch the blob it names, verified, from the seed and any other providers (`get`).
 * The seed answers once its import has hashed the whole file (the BLAKE3 root is known only
 * then), telling how far it is each second meanwhile; the blob then comes over /verity/blobs/1
 * (or /iroh-bytes/4) like any other, resuming what this store holds.
 */
export class Seeds {
  private readonly log: Logger

  constructor (private readonly components: SeedsComponents) {
    this.log = components.logger.forComponent('verity:seeds')
  }

  /** Have `seed` fetch `url` (once for all who ask) and name the blob: `{ taskId, hash, size, format }`. */
  request (seed: PeerTarget, url: string | URL, options: SeedRequestOptions = {}): SeedRequestHandle {
    const ask = { type: 'task' as const, url: String(url), ...taskFields(options) }
    return new SeedRequestHandle(async emit => {
      const report = (event: SeedProgress): void => { options.onProgress?.(event); emit(event) }
      const answer = await this.exchange(seed, ask, options, event => { report({ type: 'seed:progress', detail: event }) })
      if (answer.type !== 'task') throw new MalformedMessage(`the seed answered a task with ${answer.type}`)
      const task: SeedTask = { taskId: answer.taskId, hash: fromHex(answer.hash), size: answer.size, format: answer.format }
      report({ type: 'seed:task', detail: task })
      return task
    }, { coalesce: event => event.type === 'seed:progress' })
  }

  /** `request`, then the blob (a collection: with its files) fetched from the seed and `providers`, verified, resuming what is here. */
  get (seed: PeerTarget, url: string | URL, options: SeedGetOptions = {}): SeedGetHandle {
    return new SeedGetHandle(async emit => {
      const task = await this.request(seed, url, { ...options, onProgress: event => { options.onProgress?.(event); emit(event) } })
      const download = this.components.downloader.download({
        request: { hash: task.hash, format: task.format },
        providers: [seed, ...(options.providers ?? [])],
        ...(options.strategy === undefined ? {} : { strategy: options.strategy }),
        ...(options.signal === undefined ? {} : { signal: options.signal })
      })
      for await (const item of download) { options.onDownload?.(item); emit(item) }
      const result = await download
      this.log('task %s: %s, %d bytes received', task.taskId, toHex(task.hash), result.bytesReceived)
      return { ...task, localBytes: result.localBytes, bytesReceived: result.bytesReceived }
    }, { coalesce: item => item.type === 'seed:progress' || item.type === 'download:progress' })
  }

  /** Have `seed` preheat `urls` (import them in the background); its status as it starts. */
  async preheat (seed: PeerTarget, urls: Array<string | URL>, options: PreheatOptions & { signal?: AbortSignal } = {}): Promise<PreheatStatus> {
    const answer = await this.exchange(seed, { type: 'preheat', urls: urls.map(String), ...taskFields(options) }, options)
    if (answer.type !== 'preheat') throw new MalformedMessage(`the seed answered a preheat with ${answer.type}`)
    return answer.status
  }

  /** A preheat's status at `seed`. */
  async preheatStatus (seed: PeerTarget, id: string, options: { signal?: AbortSignal } = {}): Promise<PreheatStatus> {
    const answer = await this.exchange(seed, { type: 'preheatStatus', id }, options)
    if (answer.type !== 'preheat') throw new MalformedMessage(`the seed answered a preheat status with ${answer.type}`)
    return answer.status
  }

  /**
   * One request, its answers read until the final one: progress to `onProgress`; an error answer
   * thrown as the error the seed named. The request is written beside the reading, so a seed that
   * refuses a message before reading it all (RequestTooLarge) is heard.
   */
  private async exchange (seed: PeerTarget, request: SeedRequest, options: { idleTimeoutMs?: number, signal?: AbortSignal },
    onProgress?: (progress: { bytes: number, total?: number }) => void): Promise<Exclude<SeedAnswer, { type: 'progress' | 'error' }>> {
    const idleMs = options.idleTimeoutMs ?? SEED_IDLE_MS
    const pooled = await this.components.pool.open(seed, [TASK_PROTOCOL], options.signal === undefined ? {} : { signal: options.signal })
    const idle = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const quiet = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => { idle.abort(new Timeout(`nothing from the seed for ${idleMs} ms`)) }, idleMs)
    }
    const signal = options.signal === undefined ? idle.signal : AbortSignal.any([idle.signal, options.signal])
    let failure: Error | undefined
    let refused = false // the seed answered with an error and closed: nothing to reset
    try {
      const sent = (async () => {
        await pooled.stream.write(encodeFrame(request))
        await pooled.stream.closeWrite()
      })()
      sent.catch(() => {}) // a seed that refused early may reset our write side: its answer says why
      const reader = new FrameReader(pooled.stream.source, MAX_ANSWER_BYTES)
      quiet()
      while (true) {
        const message = await untilAborted(reader.next(), signal)
        if (message === undefined) {
          await sent // the write's own failure, if there was one, says more than "ended"
          throw new MalformedMessage('the seed closed the stream without an answer')
        }
        quiet()
        const answer = decodeSeedAnswer(message)
        if (answer.type === 'progress') { onProgress?.(answer); continue }
        if (answer.type === 'error') { refused = true; throw fromWire(answer) }
        return answer
      }
    } catch (err) {
      failure = err as Error
      if (!refused) pooled.stream.abort(failure)
      throw err
    } finally {
      clearTimeout(timer)
      pooled.release(failure)
    }
  }
}

function taskFields (options: PreheatOptions): PreheatOptions {
  const out: PreheatOptions = {}
  if (options.filter !== undefined) out.filter = [...options.filter]
  if (options.tag !== undefined) out.tag = options.tag
  if (options.application !== undefined) out.application = options.application
  if (options.headers !== undefined) out.headers = options.headers
  return out
}
