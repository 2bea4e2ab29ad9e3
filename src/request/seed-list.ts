/**
 * The latest seed list, as an async iterable for `startWarmup` (tokio's watch channel): a reader
 * gets the current list first, then each new one; a reader that falls behind skips to the newest.
 */
export class SeedList implements AsyncIterable<readonly string[]> {
  private current: readonly string[]
  private version = 0
  private waiters: Array<() => void> = []
  private ended = false

  constructor (initial: readonly string[]) {
    this.current = [...initial]
  }

  set (seeds: readonly string[]): void {
    this.current = [...seeds]
    this.version++
    this.wake()
  }

  end (): void {
    this.ended = true
    this.wake()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<readonly string[]> {
    let seen = -1
    while (true) {
      if (seen !== this.version) {
        seen = this.version
        yield this.current
        continue
      }
      if (this.ended) return
      await new Promise<void>(resolve => { this.waiters.push(resolve) })
    }
  }

  private wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }
}
