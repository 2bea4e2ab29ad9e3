import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { createBLAKE3 } from 'hash-wasm'
import type { Blake3Core } from '../store/bao/interface.js'
import { computeOutboard } from '../store/bao/outboard.js'
import { PortableCore } from '../store/bao/portable-core.js'
import { WasmCore } from '../store/bao/wasm-core.js'
import { printTable, throughput, type Row } from './measure.js'

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
  if (spawnSync('b3sum', ['--version']).status !== 0) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-'))
  try {
    const file = join(dir, 'input')
    writeFileSync(file, data)
    let best = 0
    for (let i = 0; i < 4; i++) {
      const start = process.hrtime.bigint()
      const run = spawnSync('b3sum', ['--num-threads', '1', '--no-names', file], { encoding: 'utf8' })
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      if (run.stdout.trim() !== expectedHex) throw new Error(`b3sum disagrees: ${run.stdout.trim()} vs ${expectedHex}`)
      if (i > 0) best = Math.max(best, data.length / seconds / 1e6) // the first run warms the cache
    }
    return best
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function hashingBench (sizes = [1 << 20, 256 << 20]): Promise<void> {
  const cores: Blake3Core[] = [WasmCore.create(), new PortableCore()]
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
    if (big && native === undefined) console.log('b3sum is not installed (Debian package b3sum): its row and ratio are absent')
  }
}
