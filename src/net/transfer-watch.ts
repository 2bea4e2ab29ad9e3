import { Timeout, TooSlow } from '../../protocol/errors.js'

/** The least a transfer must move over any whole window once it has run that long. */
export interface MinRate {
  bytesPerSecond: number
  windowMs: number
}

/**
 * 4 KiB/s over 20 s: a provider dripping a byte every few seconds is dropped after 20 s; any
 * link a person would use for a transfer moves far more.
 */
export const DEFAULT_MIN_RATE: Readonly<MinRate> = Object.freeze({ bytesPerSecond: 4096, windowMs: 20000 })

export interface TransferWatchOptions {
  /** Nothing at all for this long: Timeout. Undefined: no idle limit. */
  idleTimeoutMs?: number
  /** Less than this over a whole window: TooSlow. `false`: no minimum. @default DEFAULT_MIN_RATE */
  minRate?: MinRate | false
  /** The whole transfer must end within this: Timeout. Undefined: no deadline. */
  deadlineMs?: number
  /** Keep sampling for `rateOver` even with no idle limit and no minimum. */
  sample?: boolean
}

/** How often the watch looks at the bytes counted. */
const TICK_MS = 250
/** Samples kept for `rateOver` beyond the rate window. */
const HISTORY_MS = 5000

/**
 * Watches the bytes of one transfer and aborts `signal` with a named reason when the peer is
 * idle too long (Timeout), too slow over a whole window (TooSlow) or the deadline passes
 * (Timeout). Feed it the running total with `progress`; `stop` when the transfer ends.
 */
export class TransferWatch {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly started = performance.now()
  private lastData = performance.now()
  private total = 0
  /** (time, total) once per tick, as far back as one window. */
  private readonly samples: Array<{ at: number, total: number }> = []
  private timer: NodeJS.Timeout | undefined
  private deadline: NodeJS.Timeout | undefined
  private readonly minRate: MinRate | false

  constructor (private readonly options: TransferWatchOptions = {}) {
    this.signal = this.controller.signal
    this.minRate = options.minRate ?? DEFAULT_MIN_RATE
    if (this.minRate !== false) checkRate(this.minRate)
    this.samples.push({ at: this.started, total: 0 })
    const idle = options.idleTimeoutMs
    if ((idle !== undefined && Number.isFinite(idle)) || this.minRate !== false || options.sample === true) this.timer = setTimeout(() => { this.tick() }, TICK_MS)
    if (options.deadlineMs !== undefined) {
      const ms = options.deadlineMs
      this.deadline = setTimeout(() => { this.fail(new Timeout(`the transfer did not finish within ${ms} ms`)) }, ms)
    }
  }

  /** Bytes received so far, in all. */
  progress (total: number): void {
    if (total > this.total) {
      this.total = total
      this.lastData = performance.now()
    }
  }

  /**
   * Bytes per second over about the last `ms` (at most HISTORY_MS or the rate window), or
   * undefined while the transfer is younger than that.
   */
  rateOver (ms: number): number | undefined {
    const now = performance.now()
    const from = this.sampleBefore(now - ms)
    if (from === undefined) return undefined
    const span = now - from.at
    return span > 0 ? (this.total - from.total) * 1000 / span : undefined
  }

  /** The newest sample taken at or before `time`. */
  private sampleBefore (time: number): { at: number, total: number } | undefined {
    let found: { at: number, total: number } | undefined
    for (const sample of this.samples) {
      if (sample.at > time) break
      found = sample
    }
    return found
  }

  /** Milliseconds since the last byte. */
  get quietMs (): number {
    return performance.now() - this.lastData
  }

  stop (): void {
    clearTimeout(this.timer)
    clearTimeout(this.deadline)
    this.timer = undefined
  }

  private tick (): void {
    const now = performance.now()
    const idle = this.options.idleTimeoutMs
    if (idle !== undefined && now - this.lastData >= idle) {
      this.fail(new Timeout(`no data for ${Math.round(now - this.lastData)} ms`))
      return
    }
    const rate = this.minRate
    this.samples.push({ at: now, total: this.total })
    // Keep the newest sample at least a window old (HISTORY_MS without a minimum), and nothing before it.
    const keep = rate === false ? HISTORY_MS : Math.max(rate.windowMs, HISTORY_MS)
    while (this.samples.length > 1 && (this.samples[1] as { at: number }).at <= now - keep) this.samples.shift()
    const from = rate === false ? undefined : this.sampleBefore(now - rate.windowMs)
    if (rate !== false && from !== undefined) {
      // At least a whole window since `from`: was the rate kept over it?
      const moved = this.total - from.total
      const span = now - from.at
      if (moved < rate.bytesPerSecond * span / 1000) {
        this.fail(new TooSlow(moved, Math.round(span), rate.bytesPerSecond))
        return
      }
    }
    this.timer = setTimeout(() => { this.tick() }, TICK_MS)
  }

  private fail (reason: Error): void {
    this.stop()
    this.controller.abort(reason)
  }
}

function checkRate (rate: MinRate): void {
  if (typeof rate !== 'object' || rate === null) throw new TypeError('minRate must be { bytesPerSecond, windowMs } or false')
  if (!(rate.bytesPerSecond >= 0) || !Number.isFinite(rate.bytesPerSecond)) throw new RangeError(`minRate.bytesPerSecond must be a non-negative number, got ${rate.bytesPerSecond}`)
  if (!(rate.windowMs > 0) || !Number.isFinite(rate.windowMs)) throw new RangeError(`minRate.windowMs must be a positive number, got ${rate.windowMs}`)
}
