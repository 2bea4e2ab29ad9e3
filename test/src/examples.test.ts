import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { createNode, type VerityNode } from '../../src/node/create-node.js'
import { toHex } from '../../store/hash-text.js'
import { randomBytes } from '../helpers.js'

const run = promisify(execFile)
/** The repository root: the examples import 'verity-blobs', which resolves to it (package self-reference). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** Run `examples/<name>` as a user would (`node examples/<name> ...`), from the repository root. */
async function example (name: string, ...args: string[]): Promise<string[]> {
  const { stdout } = await run(process.execPath, [join('examples', name), ...args], { cwd: ROOT, timeout: 60000 })
  return stdout.trim().split('\n')
}

describe('examples/ run as programs', function () {
  this.timeout(90000)

  it('lists exactly the examples tested here', () => {
    assert.deepEqual(readdirSync(join(ROOT, 'examples')).filter(f => f.endsWith('.mjs')).sort(),
      ['downloader.mjs', 'fetch-ticket.mjs', 'gateway.mjs', 'observe.mjs', 'two-nodes.mjs'])
  })

  it('two-nodes.mjs: bob fetches alice\'s blob by its ticket, and nothing the second time', async () => {
    const lines = await example('two-nodes.mjs')
    assert.match(lines[0] ?? '', /^alice added [0-9a-f]{64}$/)
    assert.match(lines[1] ?? '', /^ticket blob[a-z2-7]+$/)
    assert.equal(lines[2], 'bob fetched 33 bytes (41 read, hash pairs included): hello from alice, verified by bob')
    assert.equal(lines[3], 'again: 33 bytes already here, 0 read')
  })

  it('observe.mjs: bob sees alice\'s copy fill a quarter at a time', async () => {
    const lines = await example('observe.mjs')
    assert.equal(lines[0], 'bob sees alice holding 0 of unknown chunks')
    assert.ok(lines.includes('bob sees alice holding 4096 of 4096 chunks'), lines.join('\n'))
    assert.equal(lines.at(-1), 'bob saw it complete')
  })

  it('downloader.mjs: one blob striped over two providers, each delivering a share', async () => {
    const lines = await example('downloader.mjs')
    assert.ok(lines.some(l => /^downloaded 33554432 bytes, \d+ received$/.test(l)), lines.join('\n'))
    const shares = lines.filter(l => /^ {2}\S+: \d+ bytes in \d+ requests \(\d+%\)$/.test(l))
    assert.equal(shares.length, 2, lines.join('\n'))
    const bytes = shares.map(l => Number(/: (\d+) bytes/.exec(l)?.[1]))
    assert.equal(bytes.reduce((a, b) => a + b, 0), 33554432)
  })

  it('gateway.mjs: createGateway in a plain http.createServer lists a collection fetched from another node and serves a file of it', async () => {
    assert.deepEqual(await example('gateway.mjs'), [
      'listing: hello.txt (absent), page.html (absent)',
      '200 text/plain; charset=utf-8: "hello from alice\\n"',
      'log: 127.0.0.1 - - [time] "GET /blob/<hash>/docs/ HTTP/1.1" 200 447',
      'log: 127.0.0.1 - - [time] "GET /blob/<hash>/docs/hello.txt HTTP/1.1" 200 17'
    ])
  })

  describe('fetch-ticket.mjs against a node of this test', () => {
    let provider: VerityNode
    let dir: string
    before(async () => {
      provider = await createNode()
      dir = mkdtempSync(join(tmpdir(), 'verity-example-'))
    })
    after(async () => {
      await provider?.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    it('writes one blob to a file, and resumes from its store the second time', async () => {
      const data = randomBytes(300000, 5)
      const { hash } = await provider.blobs.addBytes(data)
      const ticket = provider.ticket(hash).toString()
      const out = join(dir, 'blob.bin')
      const store = join(dir, 'store-1')
      const lines = await example('fetch-ticket.mjs', `${ticket}\n`, out, store)
      assert.equal(lines[0], 'already here: 0 of unknown bytes')
      assert.match(lines[1] ?? '', /^fetched 300000 bytes in [\d.]+ s, complete: true$/)
      assert.equal(lines[2], `wrote ${out} (${toHex(hash)})`)
      assert.ok(readFileSync(out).equals(data))
      const again = await example('fetch-ticket.mjs', ticket, out, store)
      assert.equal(again[0], 'already here: 300000 of 300000 bytes')
      assert.match(again[1] ?? '', /^fetched 0 bytes in/)
    })

    it('writes a collection\'s files into a directory', async () => {
      const files = { 'notes/a.txt': randomBytes(1000, 6), 'b.bin': randomBytes(70000, 7) }
      const entries = []
      for (const [name, bytes] of Object.entries(files)) entries.push({ name, hash: (await provider.blobs.addBytes(bytes)).hash })
      const collection = await provider.blobs.addCollection(entries)
      const out = join(dir, 'collection')
      await example('fetch-ticket.mjs', provider.ticket(collection.hash, 'hashseq').toString(), out, join(dir, 'store-2'))
      for (const [name, bytes] of Object.entries(files)) assert.ok(readFileSync(join(out, name)).equals(bytes), name)
    })

    it('refuses a bad ticket with InvalidTicket', async () => {
      const failed = await run(process.execPath, [join('examples', 'fetch-ticket.mjs'), 'blob-not-a-ticket', join(dir, 'x')], { cwd: ROOT, timeout: 60000 })
        .then(() => undefined, (err: { code: number, stderr: string }) => err)
      assert.ok(failed !== undefined && failed.code === 1 && /InvalidTicket/.test(failed.stderr), failed?.stderr)
    })
  })
})
