import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runChild } from '../../bench/measure.js'
import { startServer, writeRandom } from '../../bench/origin.js'
import { repoRoot } from '../helpers.js'

const child = join(repoRoot, 'dist', 'bench', 'origin-child.js')

/**
 * `npm run bench -- origin` at a small size: each of its child processes (a plain GET, an
 * origins.import, a seed fetching for a requester) gets the whole file from the bench's HTTP
 * origin on 127.0.0.1. A seed refuses loopback origins for others unless allowed: the bench's
 * seed stopped working when that refusal came in, and nothing ran it until a full bench failed.
 */
describe('the origin benchmark\'s children (bench/origin-child.ts), 2 MiB', function () {
  this.timeout(120000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'verity-bench-origin-test-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('plain, import and seed each receive every byte', async () => {
    const size = 2 << 20
    const file = join(dir, 'origin.bin')
    writeRandom(file, size)
    const server = await startServer(file)
    try {
      const url = `http://127.0.0.1:${server.port}/file`
      const runs: Array<[string, string[]]> = [['plain', [url, join(dir, 'plain.bin')]], ['import', [join(dir, 'import'), url]], ['seed', [join(dir, 'seed'), url]]]
      for (const [role, args] of runs) {
        const result = runChild<{ bytes: number, seconds: number }>(child, [role, ...args], { timeoutMs: 60000 })
        assert.equal(result.bytes, size, role)
        assert.ok(result.seconds > 0, role)
      }
    } finally {
      server.stop()
    }
  })
})
