import { spawnSync } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { computeOutboard } from '../store/bao/outboard.js'
import { encodeRanges } from '../store/bao/encode.js'
import { toHex } from '../store/hash-text.js'
import { ChunkRanges } from '../store/ranges/chunk-ranges.js'
import { printTable, runChild, type Row } from './measure.js'
import { rateCells, rateOf, timed, type Rate } from './store-stats.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'store-child.js')
const RSS_LIMIT_MB = 150
/** Runs of each row; the rows take turns within a round, so all of them see the same load. */
const ROUNDS = 5

/** `cp` then `sync -d` of `file` to a new file beside it (the same file system): seconds. */
function plainCopy (file: string, to: string): number {
  const start = process.hrtime.bigint()
  for (const [command, args] of [['cp', [file, to]], ['sync', ['-d', to]]] as Array<[string, string[]]>) {
    const run = spawnSync(command, args)
    if (run.status !== 0) throw new Error(`${command} failed: ${run.stderr.toString()}`)
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  rmSync(to, { force: true })
  return seconds
}

/**
 * FsStore rows of 256 MiB, each operation in its own process, beside their references measured
 * in the same rounds: a plain copy with fdatasync for addFile (copy), in-memory tree hashing for
 * the in-place add and importBao. Median and best of ROUNDS; ratios median to median, best to best.
 */
export async function storeBench (size = 256 << 20): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-store-'))
  try {
    const data = new Uint8Array(size)
    const words = new Uint32Array(data.buffer)
    for (let i = 0, x = 0x12345678; i < words.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; words[i] = x >>> 0 }
    const file = join(dir, 'input.bin')
    writeFileSync(file, data)
    const { hash, outboard } = computeOutboard(data)
    const encodedFile = join(dir, 'encoded.bao')
    const out = createWriteStream(encodedFile)
    for await (const part of encodeRanges({ hash, size, data, outboard, ranges: ChunkRanges.all() })) {
      if (!out.write(part)) await new Promise<void>(resolve => out.once('drain', () => resolve()))
    }
    await new Promise<void>(resolve => out.end(() => resolve()))

    const children: Array<[string, string[]]> = [
      ['FsStore addFile (copy), own process', ['addFile', '', file]],
      ['FsStore addFile --in-place (reference mode), own process', ['addFileInPlace', '', file]],
      ['FsStore importBao of the encoded stream, own process', ['importBao', '', encodedFile, toHex(hash)]]
    ]
    const seconds = { hashing: [] as number[], copy: [] as number[], children: children.map(() => [] as number[]) }
    const rss = children.map(() => 0)
    plainCopy(file, join(dir, 'warm.bin'))
    for (let round = 0; round < ROUNDS; round++) {
      seconds.hashing.push(await timed(() => computeOutboard(data)))
      seconds.copy.push(plainCopy(file, join(dir, 'copy.bin')))
      for (const [i, [, args]] of children.entries()) {
        const storeDir = join(dir, `store-${round}-${i}`)
        const result = runChild<{ seconds: number, bytes: number, maxRssMB: number }>(child, [args[0] as string, storeDir, ...args.slice(2)])
        rmSync(storeDir, { recursive: true, force: true })
        if (result.bytes !== size) throw new Error(`${args[0] as string} stored ${result.bytes} bytes of ${size}`)
        seconds.children[i]?.push(result.seconds)
        rss[i] = Math.max(rss[i] as number, result.maxRssMB)
      }
    }
    const hashing = rateOf(size, seconds.hashing)
    const copy = rateOf(size, seconds.copy)
    const row = (what: string, rate: Rate, reference: Rate, of: string, peak: number | string): Row => ({ what, ...rateCells(rate, reference), of, 'peak RSS MB': peak })
    const rates = seconds.children.map(s => rateOf(size, s))
    printTable(`FsStore, ${size >> 20} MiB, ${ROUNDS} rounds (targets: copy >= 0.8x cp + sync -d, in-place >= 0.85x hashing, peak RSS under ${RSS_LIMIT_MB} MB)`, [
      row('tree hash + outboard in memory (reference)', hashing, hashing, 'hashing', '-'),
      row('cp, then sync -d, same file system (reference)', copy, copy, 'cp + sync', '-'),
      row(children[0]?.[0] as string, rates[0] as Rate, copy, 'cp + sync', rss[0] as number),
      row(children[1]?.[0] as string, rates[1] as Rate, hashing, 'hashing', rss[1] as number),
      row(children[2]?.[0] as string, rates[2] as Rate, hashing, 'hashing', rss[2] as number)
    ])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
