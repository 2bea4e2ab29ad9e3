import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { printTable, runChild, type Row } from './measure.js'
import { cpuOf } from './net.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'origin-child.js')
const ROUNDS = 3
const TARGET = 0.8
const RSS_LIMIT_MB = 200

interface Measured { seconds: number, bytes: number, maxRssMB: number, cpuSeconds: number }

/**
 * An HTTP origin in its own process serving a file; origins.import of it (ranged pieces, 4 at a
 * time, hashed as they land, moved into an FsStore) beside a plain streaming GET of it into a
 * file, each in a fresh process, best of ROUNDS; then peak RSS of one import of `rssSize` (1 GiB).
 */
export async function originBench (size = 256 << 20, rssSize = 1 << 30): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-origin-'))
  try {
    const rows: Row[] = []
    const file = join(dir, 'origin.bin')
    writeRandom(file, size)
    const server = await startServer(file)
    try {
      const url = `http://127.0.0.1:${server.port}/file`
      const best = (run: (round: number) => Measured): Measured & { serverCpu: number } => {
        let top = { seconds: Infinity, bytes: 0, maxRssMB: 0, cpuSeconds: 0, serverCpu: 0 }
        for (let round = 0; round < ROUNDS; round++) {
          const before = cpuOf(server.pid)
          const result = run(round)
          if (result.seconds < top.seconds) top = { ...result, serverCpu: cpuOf(server.pid) - before }
        }
        return top
      }
      const plain = best(round => {
        const output = join(dir, `plain-${round}.bin`)
        try { return runChild<Measured>(child, ['plain', url, output]) } finally { rmSync(output, { force: true }) }
      })
      const imported = best(round => {
        const data = join(dir, `import-${round}`)
        try { return runChild<Measured>(child, ['import', data, url]) } finally { rmSync(data, { recursive: true, force: true }) }
      })
      const seeded = best(round => {
        const data = join(dir, `seed-${round}`)
        try { return runChild<Measured>(child, ['seed', data, url]) } finally { rmSync(data, { recursive: true, force: true }) }
      })
      const row = (what: string, result: Measured & { serverCpu: number }): void => {
        rows.push({ what, 'MB/s': result.bytes / result.seconds / 1e6, 'x plain': plain.seconds / result.seconds, 'peak RSS MB': result.maxRssMB, 'client CPU s': result.cpuSeconds, 'origin CPU s': result.serverCpu })
      }
      row('plain streaming GET into a file (reference)', plain)
      row('origins.import into an FsStore (pieces, hash, adopt)', imported)
      row(`a requester fetching it from a seed as it imports (seeds.get, last byte at ${(seeded.seconds / imported.seconds).toFixed(2)}x the import's time)`, seeded)
    } finally {
      server.stop()
    }
    printTable(`Origins, ${size >> 20} MiB from a local HTTP origin in another process (target: import >= ${TARGET}x plain)`, rows)

    rmSync(file, { force: true })
    writeRandom(file, rssSize)
    const big = await startServer(file)
    try {
      const data = join(dir, 'import-big')
      const result = runChild<Measured>(child, ['import', data, `http://127.0.0.1:${big.port}/file`])
      printTable(`Origins, peak RSS importing ${rssSize >> 20} MiB (target: under ${RSS_LIMIT_MB} MB)`, [
        { what: 'origins.import into an FsStore, own process', 'MB/s': result.bytes / result.seconds / 1e6, 'peak RSS MB': result.maxRssMB }
      ])
    } finally {
      big.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `size` pseudo-random bytes written 16 MiB at a time (a 1 GiB buffer would skew the parent). */
export function writeRandom (path: string, size: number): void {
  writeFileSync(path, new Uint8Array(0))
  const step = new Uint32Array(4 << 20)
  let x = 0x12345678
  for (let at = 0; at < size; at += step.byteLength) {
    for (let i = 0; i < step.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; step[i] = x >>> 0 }
    writeFileSync(path, new Uint8Array(step.buffer, 0, Math.min(step.byteLength, size - at)), { flag: 'a' })
  }
}

export async function startServer (file: string): Promise<{ port: number, pid: number, stop: () => void }> {
  const server = spawn(process.execPath, [child, 'serve', file], { stdio: ['pipe', 'pipe', 'inherit'] })
  const first = await createInterface({ input: server.stdout })[Symbol.asyncIterator]().next()
  const { port } = JSON.parse(first.value as string) as { port: number }
  return { port, pid: server.pid as number, stop: () => { server.stdin.end(); server.kill() } }
}
