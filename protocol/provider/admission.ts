import { untilAborted } from '../../store/abort.js'
import { RateLimited } from '../errors.js'

/**
 * A counted resource with a bounded queue: `acquire` resolves once one of `capacity` places is
 * free, in arrival order; with `maxWaiting` already queued it fails at once with RateLimited. A
 * waiter whose signal aborts leaves the queue.
 */
export class Slots {
  private active = 0
  private readonly waiting: Array<{ grant: () => void }> = []

  constructor (readonly name: string, readonly capacity: number, readonly maxWaiting: number) {}

  get inUse (): number { return this.active }
  get queued (): number { return this.waiting.length }

  /** A place; with `wait: false`, RateLimited at once when none is free. */
  async acquire (signal?: AbortSignal, { wait = true } = {}): Promise<() => void> {
    signal?.throwIfAborted()
    if (this.active < this.capacity && this.waiting.length === 0) {
      this.active++
      return this.releaser()
    }
    if (!wait || this.waiting.length >= this.maxWaiting) {
      throw new RateLimited(`${this.name}: ${this.active} requests served and ${this.waiting.length} waiting, the most this node takes`)
    }
    let granted = false
    const waiter = { grant: () => { granted = true } }
    const turn = new Promise<void>(resolve => { waiter.grant = () => { granted = true; resolve() } })
    this.waiting.push(waiter)
    try {
      await untilAborted(turn, signal)
    } catch (err) {
      const at = this.waiting.indexOf(waiter)
      if (at !== -1) this.waiting.splice(at, 1)
      else if (granted) this.release() // granted as the signal fired: hand the place on
      throw err
    }
    return this.releaser()
  }

  private releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.release()
    }
  }

  private release (): void {
    const next = this.waiting.shift()
    if (next === undefined) this.active--
    else next.grant() // the place passes straight to the next waiter
  }
}

/** Bytes held at once across every request being read; a request that would pass it is refused. */
export class ByteBudget {
  private used = 0

  constructor (readonly name: string, readonly capacity: number) {}

  get inUse (): number { return this.used }

  /** Take `n` bytes, or throw RateLimited when that would pass the capacity. */
  take (n: number): void {
    if (this.used + n > this.capacity) {
      throw new RateLimited(`${this.name}: ${this.used} bytes of requests are being read, the most this node holds is ${this.capacity}`)
    }
    this.used += n
  }

  give (n: number): void {
    this.used = Math.max(0, this.used - n)
  }
}

/** Bytes taken from several budgets at once (a peer's and the node's): all of them or none. */
export class JointBudget {
  constructor (private readonly budgets: readonly ByteBudget[]) {}

  take (n: number): void {
    const taken: ByteBudget[] = []
    try {
      for (const budget of this.budgets) { budget.take(n); taken.push(budget) }
    } catch (err) {
      for (const budget of taken) budget.give(n)
      throw err
    }
  }

  give (n: number): void {
    for (const budget of this.budgets) budget.give(n)
  }
}
