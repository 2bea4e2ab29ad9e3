import { Aborted, Timeout } from '../../protocol/errors.js'
import type { OpenOptions } from './interface.js'
import type { StatsCounter } from './stats.js'

/**
 * One request's life in a client, whatever the transport: counted once, as a response when its
 * body was read to the end or as an error otherwise; failed by its timeout, the caller's signal,
 * a cancel or the client's close; `done` settles when it is over (close() waits on it). The
 * transport says how to stop its request (`stop`) and what to do once it is over (`over`).
 */
export class Exchange {
  failure: Error | undefined
  readonly done: Promise<void>
  private finished = false
  private settle: () => void = () => {}
  private readonly startedAt: number
  private readonly timer: NodeJS.Timeout | undefined
  private readonly onAbort = (): void => { this.fail(new Aborted('the request was aborted')) }

  constructor (private readonly counter: StatsCounter, payloadBytes: number, private readonly options: Pick<OpenOptions, 'signal' | 'timeout'>, peer: string,
    private readonly stop: (err: Error) => void, private readonly over: (err?: Error) => void = () => {}) {
    this.done = new Promise<void>(resolve => { this.settle = resolve })
    this.startedAt = counter.sent(payloadBytes)
    const timeout = options.timeout
    this.timer = timeout === undefined ? undefined : setTimeout(() => { this.fail(new Timeout(`no complete answer from ${peer} in ${timeout} ms`)) }, timeout)
    if (options.signal?.aborted === true) this.onAbort()
    options.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** Stop the request with `err` (the first failure is the one reported). */
  fail (err: Error): void {
    this.failure ??= err
    this.stop(this.failure)
  }

  /** It is over: a response without `err`, an error with it; only the first call counts. */
  finish (err?: Error): void {
    if (this.finished) return
    this.finished = true
    clearTimeout(this.timer)
    this.options.signal?.removeEventListener('abort', this.onAbort)
    if (err === undefined) this.counter.received(this.startedAt)
    else this.counter.errors++
    this.over(err)
    this.settle()
  }

  /** Ends it with the failure that stopped it, if any, else `err`; returns what to throw. */
  failed (err: unknown): Error {
    const error = this.failure ?? err as Error
    this.finish(error)
    return error
  }

  /**
   * The response body, counted: the request is a response once `source` ends and `complete`
   * does not throw; a reader that stops early fails it (Aborted), as does a failure meanwhile.
   */
  async * body (source: AsyncIterable<Uint8Array>, complete: () => void = () => {}): AsyncGenerator<Uint8Array> {
    try {
      for await (const part of source) {
        this.counter.bytesReceived += part.length
        yield part
      }
      if (this.failure !== undefined) throw this.failure
      complete()
      this.finish()
    } catch (err) {
      throw this.failed(err)
    } finally {
      if (!this.finished) {
        this.fail(new Aborted('the body was left unread'))
        this.finish(this.failure)
      }
    }
  }

  /** The caller gives up on the body. */
  cancel (): void {
    this.fail(new Aborted('the request was cancelled'))
    this.finish(this.failure)
  }
}
