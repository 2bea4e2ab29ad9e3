import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { blake3 } from '../../../store/bao/hash.js'
import { toHex } from '../../../store/hash-text.js'
import { randomBytes, repoRoot } from '../../helpers.js'
import { LOCAL, startVerity, verity, type Ran } from '../cli-process.js'
import { OriginServer } from './origin-server.js'

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')
const lines = (ran: Ran): string[] => ran.stdout.toString('utf8').trim().split('\n').filter(line => line !== '')

describe('verity add <url>: CLI processes against a real origin', function () {
  this.timeout(120000)
  let dir: string
  let server: OriginServer
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-cli-url-'))
    server = await OriginServer.start()
  })
  after(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('adds http: and file: URLs, printing "hash  url" as a file add does; exports them byte for byte', async () => {
    const data = join(dir, 'data-a')
    const big = randomBytes((5 << 20) + 3, 1)
    const url = server.put('/file', big)
    const fromHttp = await verity(['add', url, '--data-dir', data])
    assert.equal(fromHttp.status, 0, fromHttp.stderr)
    assert.deepEqual(lines(fromHttp), [`${toHex(blake3(big))}  ${url}`])
    assert.match(fromHttp.stderr, /added http:\/\/127\.0\.0\.1:\d+\/file: 5\.0 MiB, 5\.0 MiB fetched, tag origin:[0-9a-f]{64}/)

    mkdirSync(join(dir, 'tree', 'sub'), { recursive: true })
    writeFileSync(join(dir, 'tree', 'a.txt'), 'a')
    writeFileSync(join(dir, 'tree', 'sub', 'empty'), '')
    const treeUrl = pathToFileURL(join(dir, 'tree')).href
    const fromFile = await verity(['add', treeUrl, '--data-dir', data, '--json'])
    assert.equal(fromFile.status, 0, fromFile.stderr)
    const event = JSON.parse(lines(fromFile)[0] as string) as { type: string, format: string, hash: string, url: string }
    assert.deepEqual([event.type, event.format, event.url], ['added', 'hashseq', treeUrl])
    // The same collection a plain `verity add <dir>` makes.
    const plain = await verity(['add', join(dir, 'tree'), '--data-dir', data])
    assert.equal(lines(plain)[0]?.split('  ')[0], event.hash)

    const out = join(dir, 'out')
    assert.equal((await verity(['export', toHex(blake3(big)), join(out, 'big.bin'), '--data-dir', data])).status, 0)
    assert.ok(readFileSync(join(out, 'big.bin')).equals(big))
    const again = await verity(['add', url, '--data-dir', data])
    assert.match(again.stderr, /known already, nothing fetched/)
    assert.equal(server.stats('/file').bytes, big.length, 'the second add asked the origin nothing')
  })

  it('an origin 404 exits 1 naming OriginNotFound; a bad header is a usage error', async () => {
    const data = join(dir, 'data-b')
    const missing = await verity(['add', server.url('/nothing-here'), '--data-dir', data])
    assert.equal(missing.status, 1)
    assert.match(missing.stderr, /^verity: OriginNotFound: .*http:\/\/127\.0\.0\.1:\d+\/nothing-here/m)
    assert.equal(lines(missing).length, 0)
    const usage = await verity(['add', server.url('/x'), '--header', 'no colon', '--data-dir', data])
    assert.equal(usage.status, 2, usage.stderr)
  })

  it('-v shows each plugin loaded (load [mem] plugin backend), and a broken plugin is named without -v', async () => {
    const data = join(dir, 'data-c')
    const plugins = join(data, 'plugins', 'backend')
    mkdirSync(plugins, { recursive: true })
    copyFileSync(join(repoRoot, 'examples', 'plugin-backend', 'mem-backend.mjs'), join(plugins, 'mem-backend.mjs'))
    writeFileSync(join(plugins, 'broken.mjs'), 'export default 42\n')
    const verbose = await verity(['add', 'mem://demo/hello.txt', '--data-dir', data, '-v'])
    assert.equal(verbose.status, 0, verbose.stderr)
    assert.match(verbose.stderr, /^verity: load \[mem\] plugin backend$/m)
    assert.match(verbose.stderr, /plugin broken\.mjs failed to load: TypeError: a backend must be an object, got number/)
    assert.equal(lines(verbose)[0], `${toHex(blake3(new TextEncoder().encode('hello from a plugin backend\n')))}  mem://demo/hello.txt`)
    const quiet = await verity(['add', 'mem://demo/numbers.bin', '--data-dir', data])
    assert.doesNotMatch(quiet.stderr, /load \[mem\]/)
    assert.match(quiet.stderr, /warning: plugin broken\.mjs failed to load/)
    const other = await verity(['add', 'nope://x/y', '--data-dir', data, '--json'])
    assert.equal(other.status, 1)
    assert.match(other.stderr, /UnsupportedScheme: no origin backend serves nope: URLs \(served: file:, http:, https:, mem:\)/)
  })

  it('Ctrl-C mid-add exits 130 keeping what was staged; the same command again fetches only the rest', async () => {
    const data = join(dir, 'data-e')
    const body = randomBytes(8 << 20, 5)
    const url = server.put('/interrupted', body, { rate: 1 << 20 })
    const child = spawn(process.execPath, [cli, 'add', url, '--data-dir', data], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text })
    // One Ctrl-C: a second one ends the process at once (the CLI's way out of a stuck shutdown), which a poll sending one every 10 ms could do before the first is handled.
    let sent = false
    const poll = setInterval(() => { if (!sent && server.stats('/interrupted').bytes >= 3 << 20) { sent = true; child.kill('SIGINT') } }, 10)
    const code = await new Promise<number | null>(resolve => child.once('close', resolve))
    clearInterval(poll)
    assert.equal(code, 130, stderr)
    assert.match(stderr, /interrupted; what was fetched is staged, run the same command again to resume/)
    const before = server.stats('/interrupted').bytes
    server.misbehave('/interrupted', {})
    const again = await verity(['add', url, '--data-dir', data])
    assert.equal(again.status, 0, again.stderr)
    assert.deepEqual(lines(again), [`${toHex(blake3(body))}  ${url}`])
    const second = server.stats('/interrupted').bytes - before
    assert.ok(second < body.length * 0.8, `fetched ${second} of ${body.length} again`)
  })

  it('through a running serve: the add is run by the node holding the store, with its origins', async () => {
    const data = join(dir, 'data-d')
    const body = randomBytes(300000, 4)
    const url = server.put('/served', body)
    const serve = await startVerity(['serve', '--data-dir', data, '--http', '127.0.0.1:0', ...LOCAL])
    try {
      const added = await verity(['add', url, '--data-dir', data])
      assert.equal(added.status, 0, added.stderr)
      assert.deepEqual(lines(added), [`${toHex(blake3(body))}  ${url}`])
    } finally {
      assert.equal(await serve.stop(), 0)
    }
  })
})
