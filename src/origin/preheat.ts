import { randomBytes } from 'node:crypto'
import type { Logger } from '@libp2p/interface'
import { RateLimited } from '../../protocol/errors.js'
import { toHex } from '../../store/hash-text.js'
import type { OriginImportOptions, OriginImportResult, PreheatOptions, PreheatStatus } from './interface.js'
import { safeUrlOf } from './safe-url.js'
import { taskIdOf, urlArg } from './task-id.js'

/** How long a preheat's status can be asked for after it was made (Dragonfly keeps jobs a day). */
export const PREHEAT_KEEP_MS = 24 * 3600 * 1000

export interface PreheatLimits {
  /** Preheats kept (finished ones go first, oldest first); past it with none finished, RateLimited. @default 1000 */
  maxKept: number
  /** Preheats running at once; the others wait (WAITING). @default 2 */
  maxRunning: number
  /** @default PREHEAT_KEEP_MS */
  keepMs: number
}

type Importer = (url: URL, options: OriginImportOptions) => PromiseLike<OriginImportResult>

/**
 * Preheat jobs: URLs imported in the background (one after another within a job) so that later
 * requests find them known. Each job is WAITING until one of `maxRunning` places is free, then
 * RUNNING, then SUCCESS, or FAILED with the first failure (`<name>: <message>`; the other URLs
 * are still tried). Statuses are kept `keepMs`, at most `maxKept` of them.
 */
export class Preheats {
  private readonly jobs = new Map<string, PreheatStatus>()
  private readonly waiting: Array<() => void> = []
  private running = 0
  private readonly limits: PreheatLimits

  constructor (private readonly importer: Importer, private readonly log: Logger, limits: Partial<PreheatLimits> = {}) {
    this.limits = { maxKept: 1000, maxRunning: 2, keepMs: PREHEAT_KEEP_MS, ...limits }
  }

  /** A new job for `urls` (checked now: TypeError, RangeError); its status as it starts. */
  start (urls: ReadonlyArray<string | URL>, options: PreheatOptions = {}, signal?: AbortSignal): PreheatStatus {
    if (!Array.isArray(urls) || urls.length === 0) throw new TypeError('urls must be a non-empty array of URLs')
    const parsed = urls.map(url => urlArg(url))
    const items = parsed.map(url => ({ url: safeUrlOf(url, options.filter), taskId: taskIdOf(url, options) }))
    this.prune()
    if (this.jobs.size >= this.limits.maxKept) throw new RateLimited(`${this.jobs.size} preheats are kept and none has finished: try later`)
    const job: PreheatStatus = { id: toHex(randomBytes(16)), state: 'WAITING', items, createdAt: Date.now() }
    this.jobs.set(job.id, job)
    void this.run(job, parsed, options, signal)
    return structuredClone(job)
  }

  /** A job's status now, or undefined when there is none by that id (or it is older than keepMs). */
  status (id: string): PreheatStatus | undefined {
    this.prune()
    const job = this.jobs.get(id)
    return job === undefined ? undefined : structuredClone(job)
  }

  private async run (job: PreheatStatus, urls: URL[], options: PreheatOptions, signal: AbortSignal | undefined): Promise<void> {
    if (this.running >= this.limits.maxRunning) await new Promise<void>(resolve => this.waiting.push(resolve))
    this.running++
    job.state = 'RUNNING'
    this.log('preheat %s: %d URLs', job.id, urls.length)
    try {
      for (const [i, url] of urls.entries()) {
        const item = job.items[i] as PreheatStatus['items'][number]
        try {
          const result = await this.importer(url, { ...options, ...(signal === undefined ? {} : { signal }) })
          Object.assign(item, { hash: toHex(result.hash), size: result.size, format: result.format })
        } catch (err) {
          item.error = `${(err as Error).name}: ${(err as Error).message}`
          job.error ??= item.error
          this.log.error('preheat %s: %s', job.id, item.error)
        }
      }
      job.state = job.error === undefined ? 'SUCCESS' : 'FAILED'
    } finally {
      job.finishedAt = Date.now()
      this.running--
      this.waiting.shift()?.()
    }
  }

  /** Jobs older than keepMs go; past maxKept, the oldest finished ones. */
  private prune (): void {
    const now = Date.now()
    for (const [id, job] of this.jobs) if (now - job.createdAt > this.limits.keepMs) this.jobs.delete(id)
    for (const [id, job] of this.jobs) {
      if (this.jobs.size < this.limits.maxKept) break
      if (job.finishedAt !== undefined) this.jobs.delete(id)
    }
  }
}
