import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { createBLAKE3 } from 'hash-wasm'
import type { Blake3Core } from '../store/bao/interface.js'
import { NativeCore } from '../store/bao/native-core.js'
import { computeOutboard } from '../store/bao/outboard.js'
import { PortableCore } from '../store/bao/portable-core.js'
import { WasmCore } from '../store/bao/wasm-core.js'
import { printTable, throughput, type Row } from './measure.js'
import { rateCells, rateOf } from './store-stats.js'

/** Interleaved runs of the kernel and of b3sum for the median-and-best table. */
const VERSUS_ROUNDS = 7

/** Fills a buffer with non-repeating bytes, cheaply (hashing speed does not depend on content). */
function input (size: number): Uint8Array {
  const data = new Uint8Array(size)
  const words = new Uint32Array(data.buffer, 0, Math.floor(size / 4))
  let x = 0x9e3779b9
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    words[i] = x >>> 0
  }
  return data
}

/**
 * `b3sum --num-threads 1` on the same bytes, from a file in the page cache: best MB/s of a few
 * runs, or undefined where b3sum is not installed. Its hash must equal ours.
 */
function b3sum (data: Uint8Array, expectedHex: string): number | undefined {
  return withB3sum(data, expectedHex, run => {
    let best = 0
    for (let i = 0; i < 3; i++) best = Math.max(best, data.length / run() / 1e6)
    return best
  })
}

/**
 * Calls `use` with a timer of one `b3sum --num-threads 1` run over `data` (seconds; its hash is
 * checked against ours), after one warm-up run; undefined where b3sum is not installed.
 */
function withB3sum<T> (data: Uint8Array, expectedHex: string, use: (run: () => number) => T): T | undefined {
  if (spawnSync('b3sum', ['--version']).status !== 0) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-'))
  try {
    const file = join(dir, 'input')
    writeFileSync(file, data)
    const run = (): number => {
      const start = process.hrtime.bigint()
      const out = spawnSync('b3sum', ['--num-threads', '1', '--no-names', file], { encoding: 'utf8' })
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      if (out.stdout.trim() !== expectedHex) throw new Error(`b3sum disagrees: ${out.stdout.trim()} vs ${expectedHex}`)
      return seconds
    }
    run() // warms the page cache
    return use(run)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** CPU seconds of this process's waited-for children so far (cutime + cstime, clock ticks of 10 ms). */
function childrenCpuSeconds (): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[13]) + Number(fields[14])) / 100
}

/** The fast cores on this machine: the native one where it was built (the default then), and WebAssembly. */
function fastCores (): Blake3Core[] {
  const native = NativeCore.tryCreate()
  return [...(native === undefined ? [] : [native]), WasmCore.create()]
}

/**
 * The cores' tree hash against b3sum, runs interleaved (one of each in turn) so all see the same
 * load: median and best of each, ratios median to median and best to best. Also MB per CPU
 * second over all the runs (b3sum's from the kernel's accounting of waited-for children, 10 ms
 * ticks; ours from process.cpuUsage), which load on the machine changes less than wall time.
 */
async function versusB3sum (data: Uint8Array, expectedHex: string): Promise<void> {
  const cores = fastCores()
  const ours = cores.map(() => [] as number[])
  const ourCpu = cores.map(() => 0)
  for (const core of cores) computeOutboard(data, { core })
  const hashAll = (): void => {
    for (const [c, core] of cores.entries()) {
      const cpu = process.cpuUsage()
      const start = process.hrtime.bigint()
      computeOutboard(data, { core })
      ours[c]?.push(Number(process.hrtime.bigint() - start) / 1e9)
      const used = process.cpuUsage(cpu)
      ourCpu[c] = (ourCpu[c] ?? 0) + (used.user + used.system) / 1e6
    }
  }
  let nativeCpu = 0
  const native = withB3sum(data, expectedHex, run => {
    const seconds: number[] = []
    for (let i = 0; i < VERSUS_ROUNDS; i++) {
      const children = childrenCpuSeconds()
      seconds.push(run())
      nativeCpu += childrenCpuSeconds() - children
      hashAll()
    }
    return rateOf(data.length, seconds)
  })
  if (native === undefined) for (let i = 0; i < VERSUS_ROUNDS; i++) hashAll()
  const perCpu = (cpu: number): number => VERSUS_ROUNDS * data.length / cpu / 1e6
  printTable(`BLAKE3 tree hashing against native BLAKE3, ${data.length >> 20} MiB, ${VERSUS_ROUNDS} runs each, interleaved (target for the default core, the first: 0.55x b3sum)`, [
    { what: 'b3sum --num-threads 1 (reference)', ...rateCells(native, native), 'MB per CPU s': native === undefined ? '-' : perCpu(nativeCpu), 'x per CPU s': native === undefined ? '-' : 1 },
    ...cores.map((core, c) => ({
      what: `tree hash + outboard, ${core.name} core`,
      ...rateCells(rateOf(data.length, ours[c] as number[]), native),
      'MB per CPU s': perCpu(ourCpu[c] as number),
      'x per CPU s': native === undefined ? '-' : nativeCpu / (ourCpu[c] as number)
    }))
  ])
}

export async function hashingBench (sizes = [1 << 20, 256 << 20]): Promise<void> {
  const cores: Blake3Core[] = [...fastCores(), new PortableCore()]
  const wasm = await createBLAKE3()
  for (const size of sizes) {
    const data = input(size)
    const label = `${size / (1 << 20)} MiB`
    // Big inputs get one timed pass per round; small ones repeat until the round is long enough.
    const big = size >= 64 << 20
    const opts = big ? { rounds: 5, minMs: 0 } : { rounds: 5, minMs: 300 }
    let referenceHex = ''
    const reference = await throughput(size, () => { wasm.init(); wasm.update(data); referenceHex = wasm.digest('hex') }, opts)
    const native = big ? b3sum(data, referenceHex) : undefined
    const ratios = (mbs: number): Row => ({
      'x hash-wasm': mbs / reference,
      ...(big ? { 'x b3sum': native === undefined ? 'absent' : mbs / native } : {})
    })
    const rows: Row[] = []
    for (const core of cores) {
      const mbs = await throughput(size, () => computeOutboard(data, { core }), core.name === 'portable' && big ? { rounds: 1, minMs: 0 } : opts)
      rows.push({ what: `tree hash + outboard, ${core.name} core`, 'MB/s': mbs, ...ratios(mbs) })
    }
    rows.push({ what: 'hash-wasm blake3, plain (reference)', 'MB/s': reference, ...ratios(reference) })
    const noble = await throughput(size, () => nobleBlake3(data), big ? { rounds: 1, minMs: 0 } : opts)
    rows.push({ what: '@noble/hashes blake3, plain', 'MB/s': noble, ...ratios(noble) })
    if (big) {
      rows.push({ what: 'b3sum --num-threads 1 (native)', 'MB/s': native ?? 'absent', ...(native === undefined ? { 'x hash-wasm': '-', 'x b3sum': '-' } : ratios(native)) })
    }
    printTable(`BLAKE3 hashing, ${label} in memory`, rows)
    if (big) await versusB3sum(data, referenceHex)
    if (big && native === undefined) console.log('b3sum is not installed (Debian package b3sum): its row and ratio are absent')
  }
}
