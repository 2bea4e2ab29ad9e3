/** Items kept for a reader that is behind, at most (older progress-only items go first). */
const MAX_QUEUED = 1024

export interface ProgressHandleOptions<P> {
  /**
   * Whether an item only restates a running figure (bytes so far): an unread one is replaced by
   * the next such item, and such items go first when the queue is full.
   */
  coalesce?: (item: P) => boolean
  /** @default 1024 */
  maxQueued?: number
}

/**
 * A long operation's handle, in the shape iroh gives its progress streams: await it for the
 * result, or iterate it for typed progress items (both, if you like). The operation starts at
 * once; a caller that never iterates costs a bounded queue. The iteration ends when the operation
 * has ended and every queued item was read, throwing the operation's error if it failed. Used by
 * the store's adds and the Downloader's downloads.
 */
export class ProgressHandle<R, P> implements PromiseLike<R>, AsyncIterable<P> {
  readonly result: Promise<R>
  private readonly queue: P[] = []
  private wake: (() => void) | undefined
  private finished = false
  private failure: { error: unknown } | undefined
  private readonly coalesce: (item: P) => boolean
  private readonly maxQueued: number

  constructor (run: (emit: (item: P) => void) => Promise<R>, options: ProgressHandleOptions<P> = {}) {
    this.coalesce = options.coalesce ?? (() => false)
    this.maxQueued = options.maxQueued ?? MAX_QUEUED
    this.result = run(item => { this.push(item) }).catch((err: unknown) => {
      this.failure = { error: err }
      throw err
    }).finally(() => {
      this.finished = true
      this.notify()
    })
    this.result.catch(() => {}) // the error reaches whoever awaits or iterates; never unhandled
  }

  then<A = R, B = never> (onResolved?: ((value: R) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.result.then(onResolved, onRejected)
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<P> {
    while (true) {
      if (this.queue.length > 0) {
        yield this.queue.shift() as P
        continue
      }
      if (this.finished) {
        if (this.failure !== undefined) throw this.failure.error
        return
      }
      await new Promise<void>(resolve => { this.wake = resolve })
    }
  }

  private push (item: P): void {
    const last = this.queue[this.queue.length - 1]
    if (last !== undefined && this.coalesce(item) && this.coalesce(last)) {
      this.queue[this.queue.length - 1] = item
    } else {
      this.queue.push(item)
      if (this.queue.length > this.maxQueued) {
        const stale = this.queue.findIndex(queued => this.coalesce(queued))
        this.queue.splice(stale === -1 ? 0 : stale, 1)
      }
    }
    this.notify()
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}
