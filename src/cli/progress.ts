import { duration, size } from './units.js'

/** How far back the rate looks: long enough to be steady, short enough to follow a change. */
export const RATE_WINDOW_MS = 5000

/** How often the progress line is drawn again on a terminal (at least 4 times a second). */
export const REDRAW_MS = 200

/**
 * Bytes per second over the last `windowMs`, of the bytes added: bytes that were already on disk
 * when a download resumed are never added, so they are never speed.
 */
export class RateWindow {
  private readonly samples: Array<{ at: number, bytes: number }> = []
  private readonly startedAt: number

  /** `startedAt`: when counting began (now by default), for a window opened after its first bytes came. */
  constructor (private readonly windowMs = RATE_WINDOW_MS, private readonly now: () => number = () => performance.now(), startedAt?: number) {
    this.startedAt = startedAt ?? now()
  }

  /** `bytes` new bytes arrived now. */
  add (bytes: number): void {
    if (bytes <= 0) return
    this.samples.push({ at: this.now(), bytes })
    this.trim()
  }

  /** Bytes per second over the window (over the time since the start while it is shorter). */
  rate (): number {
    this.trim()
    const now = this.now()
    const span = Math.min(this.windowMs, now - this.startedAt)
    if (span <= 0) return 0
    let bytes = 0
    for (const sample of this.samples) bytes += sample.bytes
    return bytes / (span / 1000)
  }

  private trim (): void {
    const oldest = this.now() - this.windowMs
    while (this.samples.length > 0 && (this.samples[0] as { at: number }).at < oldest) this.samples.shift()
  }
}

/** What a progress frame shows, and what a --json progress event carries. */
export interface ProgressState {
  /** The file being written: the output's name, or for a collection the file in flight. */
  name?: string
  /** Verified bytes present, those already here included. */
  bytes: number
  total?: number
  /** Whole percent of total. */
  percent?: number
  /** Bytes per second received from the network over the last RATE_WINDOW_MS. */
  rate: number
  /** Seconds left at that rate. */
  eta?: number
  /** Each provider's share so far, by peer id: the bytes received from it and their rate. */
  providers: Record<string, ProviderProgress>
}

/** One provider's share of a fetch while it runs. */
export interface ProviderProgress {
  /** Bytes received from it so far (hash pairs included), requests in flight too. */
  bytes: number
  /** Bytes per second from it over the last RATE_WINDOW_MS. */
  rate: number
}

/**
 * The state of a download as people see it: fed with the downloader's items (bytes present, the
 * bytes received from each provider), the bytes received from the network and the name of what
 * is being written; `state()` for a frame or an event.
 */
export class ProgressTracker {
  private bytes: number
  private total: number | undefined
  private name: string | undefined
  private received = 0
  private readonly window: RateWindow
  private readonly providers = new Map<string, { bytes: number, window: RateWindow }>()
  private readonly now: () => number
  private readonly startedAt: number

  /** `localBytes`: what was here before; `total` if known before the first byte (a partial blob). */
  constructor (localBytes: number, total?: number, now: () => number = () => performance.now()) {
    this.bytes = localBytes
    this.total = total
    this.now = now
    this.startedAt = now()
    this.window = new RateWindow(RATE_WINDOW_MS, now)
  }

  /** The verified bytes present now (never fewer than before). */
  present (bytes: number, total?: number): void {
    if (bytes > this.bytes) this.bytes = bytes
    if (total !== undefined) this.total = total
  }

  /**
   * `received` bytes have come from the network since the fetch began (the pool's count, hash
   * pairs included): the rate is theirs, so it moves as they arrive, not in the steps the store
   * records verified bytes in (COMMIT_BYTES), and bytes found on disk at a resume never count.
   */
  arrived (received: number): void {
    if (received > this.received) {
      this.window.add(received - this.received)
      this.received = received
    }
  }

  /** The bytes received so far from each provider, by peer id (the Downloader's `received`). */
  receivedFrom (received: Record<string, number>): void {
    for (const [peer, bytes] of Object.entries(received)) {
      let provider = this.providers.get(peer)
      if (provider === undefined) {
        // Counted from the fetch's start: its first bytes came over that time, not in an instant.
        provider = { bytes: 0, window: new RateWindow(RATE_WINDOW_MS, this.now, this.startedAt) }
        this.providers.set(peer, provider)
      }
      if (bytes > provider.bytes) {
        provider.window.add(bytes - provider.bytes)
        provider.bytes = bytes
      }
    }
  }

  named (name: string | undefined): void {
    this.name = name
  }

  state (): ProgressState {
    const rate = this.window.rate()
    const total = this.total
    const left = total === undefined ? undefined : Math.max(0, total - this.bytes)
    return {
      ...(this.name === undefined ? {} : { name: this.name }),
      bytes: this.bytes,
      ...(total === undefined ? {} : { total, percent: total === 0 ? 100 : Math.floor(this.bytes / total * 100) }),
      rate: Math.round(rate),
      ...(left !== undefined && rate > 0 ? { eta: Math.ceil(left / rate) } : {}),
      providers: Object.fromEntries([...this.providers].map(([peer, p]) => [peer, { bytes: p.bytes, rate: Math.round(p.window.rate()) }]))
    }
  }
}

/** A peer id as a frame shows it: its last 6 characters. */
const shortPeer = (id: string): string => id.slice(-6)

/**
 * One frame of the progress line: name, bytes of total, percent, rate, ETA; with `verbose`,
 * what each provider has sent so far and its rate.
 */
export function frame (state: ProgressState, verbose = false): string {
  const parts: string[] = []
  if (state.name !== undefined) parts.push(state.name)
  parts.push(`${size(state.bytes)}${state.total === undefined ? '' : ` / ${size(state.total)}`}`)
  if (state.percent !== undefined) parts.push(`${state.percent}%`)
  parts.push(`${size(state.rate)}/s`)
  if (state.eta !== undefined) parts.push(`ETA ${duration(state.eta)}`)
  if (verbose) {
    const each = Object.entries(state.providers).map(([peer, p]) => `${shortPeer(peer)} ${size(p.bytes)} ${size(p.rate)}/s`)
    if (each.length > 0) parts.push(`[${each.join(', ')}]`)
  }
  return parts.join('  ')
}
