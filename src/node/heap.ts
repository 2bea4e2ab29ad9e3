import { setFlagsFromString } from 'node:v8'

/**
 * How far V8's old generation may grow past what a full collection left live, in percent, as
 * `tuneHeap` sets it: 200 lets it reach three times the live size before the next full
 * collection is due.
 *
 * Why: V8 (Node 20) counts the growth of memory held outside its heap since the last full
 * collection against the old generation's room, and a node streaming at 100-400 MB/s holds many
 * MB of transport buffers at any moment (QUIC reads, noise's decrypted messages, socket reads),
 * buffers that only the next young collection frees. With the few tens of MB a node keeps live,
 * V8's own growing factor (down to 1.1 when the JS heap itself promotes little next to how fast
 * V8 marks) leaves about 8 MB of room, and a long-running node falls into back-to-back full
 * collections (docs/architecture.md, the provider's windows). `npm run bench -- longrun`, one
 * fetcher process fetching 256 MiB 12 times (docs/benchmarks.md, 2026-11-30, 13:48 UTC): with
 * V8's own factor 11-15 full collections per fetch on average (up to 28-29 in one), with 200
 * 1.5-3.4, and CPU of both processes 0.86x; the fetcher's peak RSS the same (167-179 MB).
 * The cost: a fixed factor also stands in for V8's own in its memory-saving modes (1.1-1.3 once
 * the process idles, so an idle node keeps up to three times its live heap), and caps the 4 that
 * V8 picks for short processes (a store command collects a little more often).
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
  if (typeof percent !== 'number') throw new TypeError(`percent must be a number, got ${typeof percent}`)
  if (!Number.isInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWING_PERCENT) {
    throw new RangeError(`percent must be an integer from 0 to ${MAX_HEAP_GROWING_PERCENT}, got ${String(percent)}`)
  }
  // V8 takes its flags with one dash or two, and `-` or `_` inside.
  if (execArgv.some(arg => /^--?heap[-_]growing[-_]percent(=|$)/.test(arg))) return undefined
  setFlagsFromString(`--heap-growing-percent=${percent}`)
  return percent
}
