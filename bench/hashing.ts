import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { createBLAKE3 } from 'hash-wasm'
import { computeOutboard } from '../store/bao/outboard.js'
import type { Blake3Core } from '../store/bao/interface.js'
import { PortableCore } from '../store/bao/portable-core.js'
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

export async function hashingBench (cores: Blake3Core[] = [new PortableCore()], sizes = [1 << 20, 256 << 20]): Promise<void> {
  const wasm = await createBLAKE3()
  for (const size of sizes) {
    const data = input(size)
    const label = size >= 1 << 20 ? `${size / (1 << 20)} MiB` : `${size / 1024} KiB`
    // Big inputs get one timed pass per round; small ones repeat until the round is long enough.
    const opts = size >= 64 << 20 ? { rounds: 2, minMs: 0 } : { rounds: 3, minMs: 300 }
    const reference = await throughput(size, () => { wasm.init(); wasm.update(data); wasm.digest('binary') }, opts)
    const rows: Row[] = []
    for (const core of cores) {
      const mbs = await throughput(size, () => computeOutboard(data, { core }), opts)
      rows.push({ what: `tree hash + outboard, ${core.name} core`, 'MB/s': mbs, 'x hash-wasm': mbs / reference })
    }
    rows.push({ what: 'hash-wasm blake3, plain (reference)', 'MB/s': reference, 'x hash-wasm': 1 })
    const noble = await throughput(size, () => nobleBlake3(data), size >= 64 << 20 ? { rounds: 1, minMs: 0 } : opts)
    rows.push({ what: '@noble/hashes blake3, plain', 'MB/s': noble, 'x hash-wasm': noble / reference })
    printTable(`BLAKE3 hashing, ${label} in memory`, rows)
  }
}
