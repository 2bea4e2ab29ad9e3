/**
 * Which seeds are down and until when: a seed that failed to connect is skipped for `backoffMs`,
 * doubling with each failure in a row up to `maxBackoffMs`; one success clears it. Pure: the
 * caller gives the time.
 */
export class SeedHealth {
  private readonly down = new Map<string, { until: number, failures: number }>()

  constructor (private readonly backoffMs: number, private readonly maxBackoffMs = 60000) {}

  isDown (seed: string, now: number): boolean {
    const entry = this.down.get(seed)
    return entry !== undefined && entry.until > now
  }

  /** Marks `seed` down; returns until when it is skipped. */
  markDown (seed: string, now: number): number {
    const failures = (this.down.get(seed)?.failures ?? 0) + 1
    const until = now + Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (failures - 1))
    this.down.set(seed, { until, failures })
    return until
  }

  markUp (seed: string): void {
    this.down.delete(seed)
  }

  forget (seed: string): void {
    this.down.delete(seed)
  }
}
