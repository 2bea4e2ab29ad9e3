import type { ProviderEvent, RequestContext } from '../../protocol/interface.js'
import type { Request } from '../../protocol/request.js'
import { toHex } from '../../store/hash-text.js'
import { size, type Output } from './common.js'

/**
 * The sending side's account of its requests, one line each when it ends (peer, what, bytes,
 * duration, result) and a `request` event with --json: `send` says them at normal verbosity,
 * `serve` with -v. Fed with the provider's events (node `onEvent`).
 */
export class RequestLog {
  private readonly started = new Map<string, number>()

  /**
   * `names`: what a blob is called here (a file sent), by its hex hash; `loud`: whether each line
   * is said on stderr (the --json event is written either way).
   */
  constructor (private readonly out: Output, private readonly loud: boolean, private readonly names: (hex: string) => string | undefined = () => undefined) {}

  onEvent (event: ProviderEvent): void {
    switch (event.type) {
      case 'requestReceived':
        this.started.set(keyOf(event.context), performance.now())
        return
      case 'completed':
        this.end(event.context.peer, event.context, event.stats.bytesSent, event.stats.durationMs, 'ok')
        return
      case 'aborted':
        this.end(event.peer, event.context, event.stats.bytesSent, event.stats.durationMs, event.error.name)
        return
      case 'connected':
      case 'progress':
        return
      default: {
        const never: never = event
        throw new Error(`unhandled provider event ${JSON.stringify(never)}`)
      }
    }
  }

  private end (peer: string, context: RequestContext | undefined, bytes: number, durationMs: number, result: string): void {
    const startedAt = context === undefined ? undefined : this.started.get(keyOf(context))
    if (context !== undefined) this.started.delete(keyOf(context))
    const ms = Math.round(startedAt === undefined ? durationMs : performance.now() - startedAt)
    const what = context === undefined ? 'a request' : this.describe(context.request)
    if (this.loud) this.out.say(`${peer} ${what}: ${size(bytes)} in ${(ms / 1000).toFixed(1)} s, ${result === 'ok' ? 'sent' : `failed (${result})`}`)
    this.out.event({ type: 'request', peer, what, bytes, ms, result })
  }

  /** `get notes.txt`, `get big.bin (part)`, `getMany a.txt, b.txt and 3 more`, `observe <hash>`. */
  private describe (request: Request): string {
    switch (request.type) {
      case 'get':
      case 'push': {
        const { hash, ranges } = request.request
        const root = ranges.at(0)
        const part = root.isAll() || root.isEmpty() ? '' : ' (part)'
        const children = ranges.isInfinite() || ranges.entries.some(entry => entry.offset >= 1 && !entry.ranges.isEmpty())
        return `${request.type} ${this.name(hash)}${part}${children ? root.isEmpty() ? '\'s children' : ' and its children' : ''}`
      }
      case 'getMany': {
        const names = request.hashes.slice(0, 3).map(hash => this.name(hash))
        const more = request.hashes.length - names.length
        return `getMany ${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`
      }
      case 'observe':
        return `observe ${this.name(request.hash)}`
      default: {
        const never: never = request
        throw new Error(`unhandled request ${JSON.stringify(never)}`)
      }
    }
  }

  private name (hash: Uint8Array): string {
    const hex = toHex(hash)
    return this.names(hex) ?? hex.slice(0, 12)
  }
}

const keyOf = (context: RequestContext): string => `${context.connectionId}/${context.requestId}`
