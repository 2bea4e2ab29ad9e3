import { setImmediate as nextTurn } from 'node:timers/promises'

/** Work done between two turns of the event loop, at most (about): long loops here, TCP reads in src/net/transport-fixes/tcp.ts. */
export const SLICE_MS = 10
/** Loop steps between two looks at the clock. */
const STEP = 32

/**
 * Lets a long loop give the event loop a turn (timers, I/O, signals, other requests) every
 * SLICE_MS of its work. A loop over data already in memory runs on microtasks alone and would
 * otherwise hold the process for as long as it runs. Use: `if (turns.due()) await turns.pause()`.
 */
export class Yielder {
  private last = performance.now()
  private steps = 0

  /** `step`: calls between two looks at the clock (1 for a loop whose every step is long, such as a batch). */
  constructor (private readonly sliceMs = SLICE_MS, private readonly step = STEP) {}

  /** Whether the loop has run a slice since it last paused (looks at the clock every `step` calls). */
  due (): boolean {
    if (++this.steps % this.step !== 0) return false
    return performance.now() - this.last >= this.sliceMs
  }

  /** One turn of the event loop. */
  async pause (): Promise<void> {
    await nextTurn()
    this.last = performance.now()
  }
}
