import { homedir } from 'node:os'
import { join } from 'node:path'
import { fromHex } from '../../store/hash-text.js'
import type { BlobFormat, HashAndFormat } from '../../store/interface.js'
import type { Strategy } from '../downloader/interface.js'
import type { PeerTarget } from '../net/peer.js'
import { BlobTicket } from '../ticket.js'
import { DEFAULT_MIN_RATE, type MinRate } from '../net/transfer-watch.js'
import { frame } from './progress.js'
import { flag, has, UsageError, type FlagSpec, type Parsed } from './args.js'
import { Interrupted, withDetail } from './failure.js'

// The parser has its own module (args.ts); the commands take it from here with their other helpers.
export { COMMON_FLAGS, flag, has, parseArgs, UsageError, type FlagSpec, type Parsed } from './args.js'
export { duration, size } from './units.js'
// How an error ends a command has its own module (failure.ts).
export { failure, Interrupted, withDetail } from './failure.js'

/** `--data-dir`, else VERITY_DIR, else the XDG data directory: never the working directory. */
export function dataDir (parsed: Parsed, env: NodeJS.ProcessEnv = process.env): string {
  const given = namedDataDir(parsed, env)
  if (given !== undefined) return given
  const xdg = env.XDG_DATA_HOME
  return join(xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share'), 'verity')
}

/** The data directory the user named (`--data-dir`, else a non-empty VERITY_DIR), if any. */
export function namedDataDir (parsed: Parsed, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = flag(parsed, 'data-dir') ?? env.VERITY_DIR
  return given === undefined || given === '' ? undefined : given
}

/** Where a command writes: this process's stdout and stderr, or a control client's (`control.ts`). */
export interface Io {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  stderrIsTTY: boolean
}

export function processIo (): Io {
  return { stdout: process.stdout, stderr: process.stderr, stderrIsTTY: process.stderr.isTTY === true }
}

/**
 * Where a command's words go. stdout carries only the result a script wants (or NDJSON events
 * with --json); messages and progress go to stderr; progress only on a terminal.
 */
export class Output {
  readonly json: boolean
  readonly quiet: boolean
  readonly verbose: boolean
  private readonly progress: boolean
  private drawn = false

  constructor (parsed: Parsed, readonly io: Io = processIo()) {
    this.json = has(parsed, 'json')
    this.quiet = has(parsed, 'quiet')
    this.verbose = has(parsed, 'verbose')
    this.progress = !this.quiet && !this.json && !has(parsed, 'no-progress') && io.stderrIsTTY
  }

  /** A message for people, on stderr after `verity: ` (not with --quiet or --json). */
  say (line: string): void {
    if (this.quiet || this.json) return
    this.clear()
    this.io.stderr.write(`verity: ${line}\n`)
  }

  /** Something the user must know, on stderr, with --json too (not with --quiet). */
  warn (line: string): void {
    if (this.quiet) return
    this.clear()
    this.io.stderr.write(`verity: ${line}\n`)
  }

  /** The result line on stdout (not with --json, which gets the events instead). */
  result (line: string): void {
    if (this.json) return
    this.clear() // the same terminal, most likely: no result line glued to a progress line
    this.io.stdout.write(line + '\n')
  }

  /** One NDJSON event on stdout, with --json. */
  event (event: Record<string, unknown>): void {
    if (this.json) this.io.stdout.write(JSON.stringify(event) + '\n')
  }

  /** Whether a progress line is drawn: on a terminal, and not with --quiet, --json or --no-progress. */
  get drawing (): boolean {
    return this.progress
  }

  /** Redraw the progress line: bytes of total, percent, rate since `startedAt`, time left. */
  draw (bytes: number, total: number | undefined, startedAt: number, fetched: number): void {
    if (!this.progress) return
    const seconds = (performance.now() - startedAt) / 1000
    const rate = seconds > 0 ? fetched / seconds : 0
    const left = total !== undefined && rate > 0 ? Math.ceil((total - bytes) / rate) : undefined
    this.drawFrame(frame({ bytes, ...(total === undefined ? {} : { total, percent: total === 0 ? 100 : Math.floor(bytes / total * 100) }), rate, ...(left === undefined ? {} : { eta: left }), providers: {} }))
  }

  /** Replace the progress line with `text` (progress.ts's frame). */
  drawFrame (text: string): void {
    if (!this.progress) return
    this.io.stderr.write(`\r${text}\x1b[K`)
    this.drawn = true
  }

  clear (): void {
    if (!this.drawn) return
    this.io.stderr.write('\r\x1b[K')
    this.drawn = false
  }
}

/** A blob or collection to fetch, and the providers to fetch it from. */
export interface Target { hash: Uint8Array, format: BlobFormat, providers: PeerTarget[] }

/** A 64-digit hex hash (a raw blob), or a ticket: its hash and format, and the ticket itself. */
export function hashOrTicket (text: string): HashAndFormat & { ticket?: BlobTicket } {
  if (text.length === 64) {
    try { return { hash: fromHex(text), format: 'raw' } } catch { /* not hex: maybe a ticket */ }
  }
  try {
    const ticket = BlobTicket.parse(text)
    return { hash: ticket.hash, format: ticket.format, ticket }
  } catch (err) {
    const why = /^blob/i.test(text) ? 'the ticket is cut short or mistyped: copy all of it'
      : /^[0-9a-f]+$/i.test(text) ? `a hash has 64 hex digits, this has ${text.length}`
        : 'a ticket starts with blob, a hash is 64 hex digits'
    throw withDetail(new UsageError(`not a ticket or a 64-digit hex hash: ${text.slice(0, 40)}${text.length > 40 ? '...' : ''} (${why})`), (err as Error).message)
  }
}

/** `--strategy split|none`, split by default. */
export function strategyOf (parsed: Parsed): Strategy {
  const strategy = flag(parsed, 'strategy') ?? 'split'
  if (strategy !== 'split' && strategy !== 'none') throw new UsageError(`--strategy must be split or none, not ${strategy}`)
  return strategy
}

/** `20M`, `512k`, `1G` or plain bytes, per second; k, M, G are powers of 1024. `0` only where `zero` allows it. */
export function parseRate (text: string, name: string, zero = false): number {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text)
  if (match === null || (Number(match[1]) <= 0 && !zero)) throw new UsageError(`--${name} takes bytes per second such as 500k or 20M, not ${text}`)
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] as string).toLowerCase()] as number
  return Number(match[1]) * unit
}

/** `90`, `90s`, `5m`, `2h`: seconds unless a unit says otherwise; returns milliseconds. */
export function parseDuration (text: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(text)
  if (match === null || Number(match[1]) <= 0) throw new UsageError(`--${name} takes a duration such as 90, 90s, 5m or 2h, not ${text}`)
  return Number(match[1]) * { '': 1000, s: 1000, m: 60000, h: 3600000 }[match[2] as '' | 's' | 'm' | 'h']
}

/**
 * `--timeout` and `--min-rate` of the commands that fetch: the download's deadline, and the
 * least a provider must send per second over a DEFAULT_MIN_RATE window (`0`: no minimum).
 */
export const FETCH_FLAGS: Record<string, FlagSpec> = { timeout: { value: true }, 'min-rate': { value: true } }

/** send's, serve's, get's and cat's: STUN servers for hole punching (repeatable; relay-flags.ts reads them). */
export const STUN_FLAG: Record<string, FlagSpec> = { stun: { value: true, many: true } }

/** `[host:]port` (an IPv6 host in brackets), `defaultHost` when only a port is given; UsageError naming `--<name>` otherwise. */
export function hostPort (text: string, name: string, defaultHost: string): { host: string, port: number } {
  const match = /^(?:(.*):)?(\d+)$/.exec(text)
  if (match === null || match[1] === '' || Number(match[2]) > 65535) throw new UsageError(`--${name} takes [host:]port, not ${text.slice(0, 40)}`)
  return { host: (match[1] ?? defaultHost).replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) }
}

export function fetchLimits (parsed: Parsed): { timeoutMs?: number, minRate?: MinRate | false } {
  const timeout = flag(parsed, 'timeout')
  const rate = flag(parsed, 'min-rate')
  const minBytes = rate === undefined ? undefined : parseRate(rate, 'min-rate', true)
  return {
    ...(timeout === undefined ? {} : { timeoutMs: parseDuration(timeout, 'timeout') }),
    ...(minBytes === undefined ? {} : { minRate: minBytes === 0 ? false : { bytesPerSecond: minBytes, windowMs: DEFAULT_MIN_RATE.windowMs } })
  }
}

/** The error a download ends with: Interrupted (exit 130, resume hint) when Ctrl-C stopped it. */
export function resumable (err: unknown, signal: AbortSignal, out: Output, dir: string): unknown {
  if (!signal.aborted) return err
  out.clear()
  return new Interrupted(`interrupted; the verified part is kept in ${dir}, run the same command again to resume`)
}

/** After SIGINT or SIGTERM, a command that has not ended within this long is ended anyway. */
export const STOP_GRACE_MS = 5000

/**
 * An AbortSignal that fires on the first SIGINT or SIGTERM, with Interrupted as its reason, and a
 * promise that resolves then (how send and serve wait for Ctrl-C). A second signal ends the
 * process at once (the handlers are gone), and so does STOP_GRACE_MS of cleanup after the first:
 * a stop request always stops the process within seconds.
 */
export function interruptSignal (): { signal: AbortSignal, interrupted: Promise<void>, dispose: () => void } {
  const controller = new AbortController()
  const interrupted = new Promise<void>(resolve => { controller.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
  const onSignal = (name: string) => () => {
    controller.abort(new Interrupted(`interrupted by ${name}`))
    setTimeout(() => {
      process.stderr.write(`verity: still stopping ${STOP_GRACE_MS} ms after ${name}; exiting now (verified data is kept)\n`)
      process.exit(130)
    }, STOP_GRACE_MS).unref()
  }
  const onInt = onSignal('SIGINT')
  const onTerm = onSignal('SIGTERM')
  process.once('SIGINT', onInt)
  process.once('SIGTERM', onTerm)
  return {
    signal: controller.signal,
    interrupted,
    dispose: () => { process.off('SIGINT', onInt); process.off('SIGTERM', onTerm) }
  }
}
