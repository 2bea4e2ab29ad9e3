/**
 * Median and best of several timed runs, for the hashing and store tables: the median says what
 * a run usually gets on a shared machine, the best what the code can do when left alone.
 */
export interface Rate { median: number, best: number }

/** Median and best MB/s of runs over `bytes` bytes taking `seconds` each. */
export function rateOf (bytes: number, seconds: number[]): Rate {
  const rates = seconds.map(s => bytes / s / 1e6).sort((a, b) => a - b)
  if (rates.length === 0) throw new RangeError('rateOf needs at least one run')
  const mid = Math.floor(rates.length / 2)
  const median = rates.length % 2 === 1 ? rates[mid] as number : ((rates[mid - 1] as number) + (rates[mid] as number)) / 2
  return { median, best: rates[rates.length - 1] as number }
}

/** Seconds of one call of `run`, awaited. */
export async function timed (run: () => unknown): Promise<number> {
  const start = process.hrtime.bigint()
  await run()
  return Number(process.hrtime.bigint() - start) / 1e9
}

/** `rounds` timed calls of `run` after one untimed warm-up call: median and best MB/s. */
export async function rateOfRuns (bytes: number, run: () => unknown, rounds: number): Promise<Rate> {
  await run()
  const seconds: number[] = []
  for (let i = 0; i < rounds; i++) seconds.push(await timed(run))
  return rateOf(bytes, seconds)
}

/** Table cells for a rate and its ratios to a reference's: median to median, best to best. */
export function rateCells (rate: Rate | undefined, reference: Rate | undefined): { 'MB/s median': number | string, 'MB/s best': number | string, 'x median': number | string, 'x best': number | string } {
  if (rate === undefined) return { 'MB/s median': 'absent', 'MB/s best': 'absent', 'x median': '-', 'x best': '-' }
  return {
    'MB/s median': rate.median,
    'MB/s best': rate.best,
    'x median': reference === undefined ? '-' : rate.median / reference.median,
    'x best': reference === undefined ? '-' : rate.best / reference.best
  }
}
