import { cpus, totalmem } from 'node:os'

/** One line naming the machine, printed above every table. */
export function machine (): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU'
  return `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`
}

/**
 * Throughput of `run` over `bytes` bytes in MB/s (10^6 bytes per second): the best of `rounds`
 * timed rounds, each repeating `run` until at least `minMs` have passed. Best-of is the usual
 * answer to a shared, noisy machine: interference only ever slows a round down.
 */
export async function throughput (bytes: number, run: () => unknown, { rounds = 3, minMs = 300 } = {}): Promise<number> {
  await run() // warm-up: JIT, WASM compilation
  let best = 0
  for (let r = 0; r < rounds; r++) {
    let n = 0
    const start = process.hrtime.bigint()
    let elapsed = 0
    do {
      await run()
      n++
      elapsed = Number(process.hrtime.bigint() - start) / 1e6
    } while (elapsed < minMs)
    best = Math.max(best, (bytes * n) / (elapsed / 1000) / 1e6)
  }
  return best
}

export interface Row { [column: string]: string | number }

/** Prints rows as an aligned text table under a title. */
export function printTable (title: string, rows: Row[]): void {
  const columns = Object.keys(rows[0] ?? {})
  const cell = (v: string | number | undefined): string => typeof v === 'number' ? formatNumber(v) : (v ?? '')
  const widths = columns.map(c => Math.max(c.length, ...rows.map(r => cell(r[c]).length)))
  const line = (values: string[]): string => values.map((v, i) => i === 0 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number)).join('  ')
  console.log(`\n${title}`)
  console.log(line(columns))
  console.log(line(widths.map(w => '-'.repeat(w))))
  for (const row of rows) console.log(line(columns.map(c => cell(row[c]))))
}

function formatNumber (v: number): string {
  if (v >= 100) return v.toFixed(0)
  if (v >= 10) return v.toFixed(1)
  return v.toFixed(2)
}
