import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeRanges } from '../../store/bao/decode.js'
import { blake3 } from '../../store/bao/hash.js'
import { FsStore } from '../../store/fs-store.js'
import { MemStore } from '../../store/mem-store.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { randomBytes, repoRoot } from '../helpers.js'

const child = join(repoRoot, 'dist', 'test', 'store', 'crash-child.js')
const SIZE = 64 * 1024 * 1024
const TRIALS = 20

/** Runs the child; kills it with SIGKILL `killAfterMs` after it printed `start` (if it is still running then). */
function runChild (dir: string, dataFile: string, killAfterMs: number): Promise<{ received: number, killed: boolean, output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir, dataFile], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let received = 0
    let timer: NodeJS.Timeout | undefined
    proc.stdout.setEncoding('utf8')
    proc.stdout.on('data', (text: string) => {
      output += text
      for (const match of text.matchAll(/received (\d+)/g)) received = Number(match[1])
      if (timer === undefined && output.includes('start\n')) {
        timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs)
      }
    })
    proc.stderr.on('data', (text: Buffer) => { output += text.toString() })
    proc.on('error', reject)
    proc.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer)
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child exited ${code}: ${output.slice(-2000)}`))
      else resolve({ received, killed: signal === 'SIGKILL', output })
    })
  })
}

/** `use` of the store at `dir`, closed whatever fails (no LevelDB left open for the tests after). */
async function withStore<T> (dir: string, use: (store: FsStore) => Promise<T>): Promise<T> {
  const store = await FsStore.open(dir)
  try {
    return await use(store)
  } finally {
    await store.close()
  }
}

describe('FsStore crash safety (SIGKILL during import, real processes)', function () {
  this.timeout(600000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-crash-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it(`keeps only verifying ranges and most progress across ${TRIALS} kills, then completes`, async () => {
    const data = randomBytes(SIZE, 2026)
    const hash = blake3(data)
    const dataFile = join(dir, 'blob.bin')
    writeFileSync(dataFile, data)
    const source = new MemStore()
    await source.addBytes(data)
    const survived: number[] = []
    const lostMiB: number[] = []
    let killedMidway = 0
    for (let trial = 0; trial < TRIALS; trial++) {
      const storeDir = join(dir, `store-${trial}`)
      // Kill moments 5 to 233 ms after the import starts (it takes about 0.3 s here), fixed per trial.
      const killAfter = 5 + ((trial * 7919) % 20) * 12
      const run = await runChild(storeDir, dataFile, killAfter)
      // A kill that came after the import ended finds it complete.
      assert.ok(run.killed || /done complete/.test(run.output), `trial ${trial}: ${run.output.slice(-500)}`)

      const presentBytes = await withStore(storeDir, async store => {
        const { ranges } = await store.bitfield(hash)
        let present = 0
        if (!ranges.isEmpty()) {
          // Every range reported present comes out verified, and equals the original.
          for await (const item of decodeRanges(hash, ranges, store.exportBao(hash, ranges))) {
            if (item.type !== 'leaf') continue
            assert.ok(Buffer.from(item.data).equals(data.subarray(item.offset, item.offset + item.data.length)), `trial ${trial}: bytes at ${item.offset}`)
            present += item.data.length
          }
        }
        return present
      })
      if (run.killed && run.received > 0 && presentBytes < SIZE) {
        killedMidway++
        survived.push(Math.min(1, presentBytes / run.received))
        lostMiB.push(Math.max(0, run.received - presentBytes) / 2 ** 20)
      }

      // Importing what is missing completes the blob with the right hash. Here, in this process
      // (a child per trial for this cost 20 process starts and 20 hashings of the 64 MiB, about
      // 10 s): what is checked is the store the kill left, whoever imports into it.
      await withStore(storeDir, async store => {
        const missing = ChunkRanges.all().difference((await store.bitfield(hash)).ranges)
        const finish = await store.importBao(hash, missing, source.exportBao(hash, missing))
        assert.equal(finish.complete, true, `trial ${trial}: the import of what was missing completes the blob`)
      })
      await withStore(storeDir, async store => {
        assert.deepEqual(await store.status(hash), { status: 'complete', size: SIZE })
        assert.deepEqual(blake3(await store.getBytes(hash)), hash)
      })
      rmSync(storeDir, { recursive: true, force: true })
    }
    assert.ok(killedMidway >= TRIALS / 2, `only ${killedMidway} of ${TRIALS} kills landed mid-import`)
    const average = survived.reduce((a, b) => a + b, 0) / survived.length
    console.log(`      crash test: ${killedMidway}/${TRIALS} kills mid-import; verified progress kept on average ${(average * 100).toFixed(1)}% of the bytes received before the kill (min ${(Math.min(...survived) * 100).toFixed(1)}%); lost on average ${(lostMiB.reduce((a, b) => a + b, 0) / lostMiB.length).toFixed(1)} MiB (the batch filling plus at most two being synced)`)
  })
})
