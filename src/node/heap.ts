import { setFlagsFromString } from 'node:v8'

/**
 * How far V8's old generation may grow past what a full collection left live, in percent, as
 * `tuneHeap` sets it: 200 lets it reach three times the live size before the next full
 * collection is due.
 *
 * Why: V8 (Node 20) counts the growth of memory held outside its heap since the last full
 * collection against the old generation's room, and a node streaming at 100-400 MB/s holds
 * 10-30 MB of transport buffers at any moment (QUIC reads, noise's decrypted messages, socket
 * reads), buffers that only the next young collection frees. With the few tens of MB a node keeps
 * live, V8's own growing factor (down to 1.1 when the JS heap itself promotes little) leaves about
 * 8 MB of room, and a long-running node falls into back-to-back full collections: measured in one
 * fetcher process, 12-20 full collections per 256 MiB fetch from the 8th fetch on, the fetch's CPU
 * 1.5 -> 2.1-2.6 s; a provider serving TCP likewise (docs/architecture.md, the provider's windows).
 * With 200: at most one or two per fetch, peak RSS within the same range (docs/benchmarks.md).
 */
export const HEAP_GROWING_PERCENT = 200

/** The largest percent tuneHeap accepts: 1000 lets the heap reach 11 times its live size. */
export const MAX_HEAP_GROWING_PERCENT = 1000

/**
 * Set V8's heap growing factor for the rest of this process (V8's `--heap-growing-percent`): the
 * `verity` command calls this first; a program that runs a node for long (a provider, a fetcher
 * of many blobs) may call it too. A library does not change its host's heap on its own, so
 * createNode never calls it. `percent` 0 hands the factor back to V8's own heuristic. A process
 * started with `--heap-growing-percent` of its own keeps it: returns undefined and sets nothing.
 * Returns the percent set.
 */
export function tuneHeap (percent: number = HEAP_GROWING_PERCENT, execArgv: readonly string[] = process.execArgv): number | undefined {
  if (!Number.isInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWING_PERCENT) {
    throw new RangeError(`percent must be an integer from 0 to ${MAX_HEAP_GROWING_PERCENT}, got ${String(percent)}`)
  }
  if (execArgv.some(arg => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return undefined
  setFlagsFromString(`--heap-growing-percent=${percent}`)
  return percent
}
