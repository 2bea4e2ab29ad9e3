import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

/** The log lines of `component` in a process's stderr, without their timestamps. */
function linesOf (stderr: string, component: string): string[] {
  return stderr.split('\n').filter(line => line.includes(` ${component} `)).map(line => line.slice(line.indexOf(component)))
}

describe('debug logging: DEBUG=verity:* shows a transfer\'s life (processes on 127.0.0.1)', function () {
  this.timeout(60000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-debug-')) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('a get logs the download, its requests and the connection; the provider logs each request; without DEBUG nothing', async () => {
    const data = randomBytes(3 << 20, 41)
    writeFileSync(join(dir, 'blob.bin'), data)
    const env = { ...process.env, DEBUG: 'verity:*' }
    const sender = await startVerity(['send', join(dir, 'blob.bin'), '--ticket-only', '--data-dir', join(dir, 'send'), ...LOCAL], { env })
    try {
      const got = await verity(['get', sender.line, '--data-dir', join(dir, 'get'), '-o', join(dir, 'out')], { env })
      assert.equal(got.status, 0, got.stderr)
      assert.ok(readFileSync(join(dir, 'out')).equals(Buffer.from(data)))

      const downloader = linesOf(got.stderr, 'verity:downloader:1')
      assert.match(downloader[0] ?? '', /started: get [0-9a-f]{12} \{0\.\.\}, all children, strategy split$/)
      assert.ok(downloader.some(line => / asking 12D3KooW\w+ for [0-9a-f]{64}:/.test(line)), downloader.join('\n'))
      assert.ok(downloader.some(line => / 12D3KooW\w+ delivered \d+ bytes of /.test(line)), downloader.join('\n'))
      // The file and the collection's two small blobs (its HashSeq and its names).
      const verified = Number(/done: (\d+) bytes verified \(0 were local\), \d+ received from 1 providers$/.exec(downloader.at(-1) ?? '')?.[1])
      assert.ok(verified > data.length && verified < data.length + 1024, downloader.at(-1))
      const remote = linesOf(got.stderr, 'verity:remote')
      assert.ok(remote.some(line => /^verity:remote #1 get [0-9a-f]{12} .* to 12D3KooW\w+$/.test(line)), remote.join('\n'))
      assert.ok(remote.some(line => /^verity:remote #2 getMany of 2 blobs, first [0-9a-f]{12} to /.test(line)), remote.join('\n'))
      assert.ok(remote.some(line => /^verity:remote #2 done: \d+ bytes read, \d+ written, \d+ ms$/.test(line)), remote.join('\n'))
      // A ticket names QUIC and TCP addresses; libp2p tries TCP first where both are given.
      assert.match(linesOf(got.stderr, 'verity:pool').join('\n'), /connected to 12D3KooW\w+ over \/ip4\/127\.0\.0\.1\/(udp\/\d+\/quic-v1|tcp\/\d+)\/p2p\/12D3KooW\w+ in \d+ ms/)

      // The other side, in the provider's process: the same two requests, each received and done.
      await new Promise(resolve => setTimeout(resolve, 200))
      const provider = linesOf(sender.stderr(), 'verity:provider')
      assert.ok(provider.some(line => /^verity:provider peer 12D3KooW\w+ connected/.test(line)), provider.join('\n'))
      assert.ok(provider.some(line => /^verity:provider #1 get [0-9a-f]{12} .* from 12D3KooW\w+$/.test(line)), provider.join('\n'))
      assert.ok(provider.some(line => new RegExp(`^verity:provider #2 done: \\d{7,} bytes sent, \\d+ read, \\d+ ms$`).test(line)), provider.join('\n'))
      assert.equal(linesOf(sender.stderr(), 'verity:blobs').length, 1, 'the service says once what it serves')

      // Without DEBUG: no log line at all.
      const { DEBUG: _debug, ...quiet } = process.env
      const again = await verity(['get', sender.line, '--data-dir', join(dir, 'get2'), '-o', join(dir, 'out2')], { env: quiet })
      assert.equal(again.status, 0, again.stderr)
      assert.doesNotMatch(again.stderr, /verity:(downloader|remote|pool|provider|blobs)/)
    } finally {
      await sender.stop()
    }
  })
})
