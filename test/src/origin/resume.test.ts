import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { setTimeout as delay } from 'node:timers/promises'
import { blake3 } from '../../../store/bao/hash.js'
import { toHex } from '../../../store/hash-text.js'
import { randomBytes } from '../../helpers.js'
import { OriginServer } from './origin-server.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'import-child.js')
const SIZE = 64 << 20

/** Runs the import child; `onServed` may kill it. Resolves with its stdout lines and how it ended. */
async function runChild (dir: string, url: string, watch?: (kill: () => void) => void): Promise<{ lines: string[], signal: NodeJS.Signals | null, code: number | null }> {
  const proc = spawn(process.execPath, [child, dir, url], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  createInterface({ input: proc.stdout }).on('line', line => lines.push(line))
  watch?.(() => proc.kill('SIGKILL'))
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => proc.once('close', (c, s) => { resolve([c, s]) }))
  return { lines, signal, code }
}

describe('origins: an import killed with SIGKILL resumes from what it staged', function () {
  this.timeout(180000)
  let dir: string
  let server: OriginServer
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-origin-kill-'))
    server = await OriginServer.start()
  })
  after(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('killed when the origin has served half of 64 MiB, restarted: fetches under 60% again, and the hash is right', async () => {
    const data = randomBytes(SIZE, 64)
    // 2 MiB/s per response, four pieces at once: about 8 s for the file, so the kill lands mid-way.
    const url = server.put('/big.bin', data, { rate: 2 << 20 })
    const killed = await runChild(dir, url, kill => {
      const poll = setInterval(() => {
        if (server.stats('/big.bin').bytes >= SIZE / 2) {
          clearInterval(poll)
          kill()
        }
      }, 5)
    })
    assert.equal(killed.signal, 'SIGKILL', `the child ended by itself: ${killed.lines.join('\n')}`)
    await delay(100) // the server notices the closed connections
    const servedBefore = server.stats('/big.bin').bytes
    assert.ok(servedBefore >= SIZE / 2 && servedBefore < SIZE, `served ${servedBefore} before the kill`)
    assert.ok(readdirSync(join(dir, 'origins', 'staging')).some(name => name.endsWith('.json')), 'progress was saved')

    server.misbehave('/big.bin', {})
    const resumed = await runChild(dir, url)
    assert.equal(resumed.code, 0, resumed.lines.join('\n'))
    const again = server.stats('/big.bin').bytes - servedBefore
    const done = resumed.lines.at(-1)?.split(' ') ?? []
    assert.equal(done[1], toHex(blake3(data)))
    assert.equal(Number(done[2]), again, 'fetched what the origin served the second time')
    const staged = Number(resumed.lines.find(line => line.startsWith('resume '))?.split(' ')[1])
    console.log(`      kill test: served ${(servedBefore / 2 ** 20).toFixed(1)} MiB before the kill, ${(staged / 2 ** 20).toFixed(1)} MiB staged and saved, ` +
      `${(again / 2 ** 20).toFixed(1)} MiB (${(100 * again / SIZE).toFixed(1)}%) fetched again after the restart`)
    assert.ok(again < 0.6 * SIZE, `fetched ${again} of ${SIZE} again`)
    assert.deepEqual(readdirSync(join(dir, 'origins', 'staging')), [], 'the staged file went into the store')
  })
})
