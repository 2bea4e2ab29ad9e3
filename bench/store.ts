import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { computeOutboard } from '../store/bao/outboard.js'
import { encodeRanges } from '../store/bao/encode.js'
import { toHex } from '../store/hash-text.js'
import { ChunkRanges } from '../store/ranges/chunk-ranges.js'
import { printTable, runChild, throughput, type Row } from './measure.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'store-child.js')
const RSS_LIMIT_MB = 150

/** FsStore rows: addFile and importBao of 256 MiB, each in its own process, beside in-memory tree hashing. */
export async function storeBench (size = 256 << 20): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-store-'))
  try {
    const data = new Uint8Array(size)
    const words = new Uint32Array(data.buffer)
    for (let i = 0, x = 0x12345678; i < words.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; words[i] = x >>> 0 }
    const file = join(dir, 'input.bin')
    writeFileSync(file, data)
    const hashing = await throughput(size, () => computeOutboard(data), { rounds: 3, minMs: 0 })
    const { hash, outboard } = computeOutboard(data)
    const encodedFile = join(dir, 'encoded.bao')
    const out = createWriteStream(encodedFile)
    for await (const part of encodeRanges({ hash, size, data, outboard, ranges: ChunkRanges.all() })) {
      if (!out.write(part)) await new Promise<void>(resolve => out.once('drain', () => resolve()))
    }
    await new Promise<void>(resolve => out.end(() => resolve()))

    const rows: Row[] = [{ what: 'tree hash + outboard in memory (reference)', 'MB/s': hashing, 'x hashing': 1, 'peak RSS MB': '-' }]
    for (const [label, args] of [
      ['FsStore addFile (copy), own process', ['addFile', '', file]],
      ['FsStore importBao of the encoded stream, own process', ['importBao', '', encodedFile, toHex(hash)]]
    ] as Array<[string, string[]]>) {
      let best = { mbs: 0, rss: 0 }
      for (let round = 0; round < 2; round++) {
        const storeDir = join(dir, `store-${round}`)
        const result = runChild<{ seconds: number, bytes: number, maxRssMB: number }>(child, [args[0] as string, storeDir, ...args.slice(2)])
        rmSync(storeDir, { recursive: true, force: true })
        const mbs = result.bytes / result.seconds / 1e6
        if (mbs > best.mbs) best = { mbs, rss: result.maxRssMB }
      }
      rows.push({ what: label, 'MB/s': best.mbs, 'x hashing': best.mbs / hashing, 'peak RSS MB': best.rss })
    }
    printTable(`FsStore, ${size >> 20} MiB (peak RSS target: under ${RSS_LIMIT_MB} MB)`, rows)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
