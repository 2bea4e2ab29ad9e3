import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
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

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100

/** CPU seconds (user and system) in a /proc stat file: a process's (`/proc/<pid>/stat`) or a thread's. */
export function statCpuSeconds (statPath: string): number {
  const stat = readFileSync(statPath, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ
}

/** Runs a bench child script with `args` in a fresh process; its last stdout line, parsed. */
export function runChild<T> (script: string, args: string[], { env, timeoutMs = 120000 }: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): T {
  const run = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: timeoutMs, ...(env === undefined ? {} : { env }) })
  if (run.status !== 0) throw new Error(`bench child (${args.slice(0, 3).join(' ')}) failed: ${run.error?.message ?? ''} ${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').pop() as string) as T
}

/**
 * Peak RSS of this process image, for a bench child. getrusage's maxRSS is no good here: Linux
 * carries it over from the parent across fork and exec, so a child of a bench holding 256 MiB
 * would report that. VmHWM in /proc/self/status belongs to the address space made at exec.
 */
export function peakRssMB (): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    if (match !== null) return Number(match[1]) / 1024
  } catch {}
  return process.resourceUsage().maxRSS / 1024
}

/** `count` calls, `concurrency` at a time: calls per second and latency percentiles (ms). */
export async function measureCalls (count: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<{ perSecond: number, p50: number, p99: number }> {
  const latencies: number[] = []
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++
      const t = performance.now()
      await call(i)
      latencies.push(performance.now() - t)
    }
  }))
  const seconds = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number
  return { perSecond: count / seconds, p50: at(0.5), p99: at(0.99) }
}
