import { Aborted } from '../../protocol/errors.js'
import { untilAborted } from '../../store/abort.js'

interface Flight<T, P> {
  controller: AbortController
  result: Promise<T>
  listeners: Set<(progress: P) => void>
  callers: number
  settled: boolean
}

export interface FlightCaller<P> {
  signal?: AbortSignal
  onProgress?: (progress: P) => void
}

/**
 * One run per key at a time, shared by everyone who asks while it runs: each caller gets its
 * result or its error, and its progress. A caller that aborts leaves with its own abort reason;
 * the run goes on for the others and is aborted only when the last caller has left. A run asked
 * for while an abandoned one is still stopping starts once that one has stopped (they would share
 * files).
 */
export class SingleFlight<T, P> {
  private readonly flights = new Map<string, Flight<T, P>>()

  async run (key: string, start: (signal: AbortSignal, emit: (progress: P) => void) => Promise<T>, caller: FlightCaller<P> = {}): Promise<T> {
    let flight = this.flights.get(key)
    if (flight === undefined || flight.controller.signal.aborted) flight = this.begin(key, start, flight?.result)
    const joined = flight
    joined.callers++
    const listener = caller.onProgress
    if (listener !== undefined) joined.listeners.add(listener)
    try {
      return await untilAborted(joined.result, caller.signal)
    } finally {
      if (listener !== undefined) joined.listeners.delete(listener)
      if (--joined.callers === 0 && !joined.settled) joined.controller.abort(new Aborted('every caller of this run aborted'))
    }
  }

  /** Abort every run (each caller gets `reason`) and wait for them to stop. */
  async abortAll (reason: Error): Promise<void> {
    const running = [...this.flights.values()]
    for (const flight of running) flight.controller.abort(reason)
    await Promise.allSettled(running.map(async flight => await flight.result))
  }

  private begin (key: string, start: (signal: AbortSignal, emit: (progress: P) => void) => Promise<T>, previous: Promise<T> | undefined): Flight<T, P> {
    const controller = new AbortController()
    const listeners = new Set<(progress: P) => void>()
    const emit = (progress: P): void => {
      for (const listener of listeners) {
        try {
          listener(progress)
        } catch {
          // A caller's progress listener that throws is that caller's problem, not the run's.
        }
      }
    }
    const result = (async () => {
      if (previous !== undefined) await previous.catch(() => {}) // its outcome belongs to its own callers
      controller.signal.throwIfAborted()
      return await start(controller.signal, emit)
    })()
    const flight: Flight<T, P> = { controller, result, listeners, callers: 0, settled: false }
    this.flights.set(key, flight)
    result.finally(() => {
      flight.settled = true
      if (this.flights.get(key) === flight) this.flights.delete(key)
    }).catch(() => {}) // every caller gets the error through `result` itself
    return flight
  }
}
