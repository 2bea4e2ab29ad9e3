import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from '../../helpers.js'
import { LOCAL, startVerity, verity } from '../cli-process.js'

/** The serve's libp2p TCP address on 127.0.0.1, from its --json ready event. */
function tcpOf (lines: string[]): string {
  for (const line of lines) {
    const event = JSON.parse(line) as { type?: string, addrs?: string[] }
    if (event.type === 'ready') {
      const addr = event.addrs?.find(a => a.includes('/tcp/'))
      if (addr !== undefined) return addr
    }
  }
  throw new Error(`no ready event in ${lines.join('\n')}`)
}

describe('verity --dht: get by hash alone, serve announcing its store', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-dht-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('get --dht with no bootstrap peer is a usage error (exit 2), as is --bootstrap without --dht', async () => {
    const env = { ...process.env, VERITY_BOOTSTRAP: '' }
    const hash = 'ab'.repeat(32)
    const none = await verity(['get', hash, '--dht', '--data-dir', join(dir, 'g0')], { env })
    assert.equal(none.status, 2, none.stderr)
    assert.match(none.stderr, /--dht needs a peer to join through/)
    const alone = await verity(['get', hash, '--bootstrap', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWCP64nfff9Xrn6no6ShqnfNU8WxreUvVqfAnvvniVsQng', '--data-dir', join(dir, 'g0')], { env })
    assert.equal(alone.status, 2, alone.stderr)
    const bad = await verity(['get', hash, '--dht', '--bootstrap', '/ip4/127.0.0.1/tcp/1', '--data-dir', join(dir, 'g0')], { env })
    assert.equal(bad.status, 2, bad.stderr)
    assert.match(bad.stderr, /--bootstrap/)
  })

  it('serve --dht announces what add put in its store; get <hash> --dht --bootstrap fetches it with no ticket; ls says it is announced', async () => {
    const serveDir = join(dir, 'serve')
    const file = join(dir, 'blob.bin')
    const bytes = randomBytes(3 << 20, 11)
    writeFileSync(file, bytes)
    const added = await verity(['add', file, '--data-dir', serveDir])
    assert.equal(added.status, 0, added.stderr)
    const hash = added.stdout.toString('utf8').split(/\s+/)[0] as string
    const server = await startVerity(['serve', '--dht', '--json', '--http', '127.0.0.1:0', ...LOCAL, '--data-dir', serveDir])
    try {
      await new Promise(resolve => setTimeout(resolve, 200))
      const bootstrap = tcpOf(server.lines())
      // The store's one blob gets announced once a DHT peer exists: the get is that peer.
      const out = join(dir, 'fetched.bin')
      const got = await verity(['get', hash, '--dht', '--bootstrap', bootstrap, '-o', out, '--json', '--timeout', '60s', '--data-dir', join(dir, 'get')])
      assert.equal(got.status, 0, got.stderr)
      assert.ok(readFileSync(out).equals(Buffer.from(bytes)), 'the bytes fetched')
      const events = got.stdout.toString('utf8').trim().split('\n').map(line => JSON.parse(line) as { type: string, peerId?: string })
      const serverId = (JSON.parse(server.line) as { peerId: string }).peerId
      assert.ok(events.some(e => e.type === 'lookup:provider' && e.peerId === serverId), 'the provider found by the lookup')
      assert.ok(events.some(e => e.type === 'fetched'))
      // A get is a DHT client: the serve has held its record alone so far, to be announced.
      const before = await verity(['ls', '--data-dir', serveDir])
      assert.equal(before.status, 0, before.stderr)
      assert.match(before.stdout.toString('utf8'), new RegExp(`^${hash}  complete .*  announce pending`, 'm'))
      // A second DHT server joins through it: now the record goes out.
      const second = await startVerity(['serve', '--dht', '--bootstrap', bootstrap, '--json', '--http', '127.0.0.1:0', ...LOCAL, '--data-dir', join(dir, 'serve2')])
      try {
        const end = Date.now() + 30000
        let listed = ''
        while (!new RegExp(`^${hash}  complete .*  announced`, 'm').test(listed)) {
          if (Date.now() > end) assert.fail(`never announced: ${listed}`)
          await new Promise(resolve => setTimeout(resolve, 250))
          listed = (await verity(['ls', '--data-dir', serveDir])).stdout.toString('utf8')
        }
      } finally {
        assert.equal(await second.stop(), 0)
      }
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  it('send --dht announces its collection; get <collection hash> --dht (bootstrap from VERITY_BOOTSTRAP) writes its files', async () => {
    const src = join(dir, 'tree')
    mkdirSync(join(src, 'sub'), { recursive: true })
    const one = randomBytes(200_000, 31)
    const two = randomBytes(1_500_000, 32)
    writeFileSync(join(src, 'one.bin'), one)
    writeFileSync(join(src, 'sub', 'two.bin'), two)
    // A DHT server for the sender to announce to, and for the get to join through.
    const hub = await startVerity(['serve', '--dht', '--json', '--http', '127.0.0.1:0', ...LOCAL, '--data-dir', join(dir, 'hub')])
    try {
      const bootstrap = tcpOf(hub.lines())
      const sender = await startVerity(['send', src, '--dht', '--bootstrap', bootstrap, '--json', ...LOCAL, '-v'])
      try {
        const end = Date.now() + 30000
        // Its DHT events may come before its ready event.
        let ready: { type: string, hash: string } | undefined
        while (ready === undefined) {
          if (Date.now() > end) assert.fail(`send never said it was ready: ${sender.lines().join('\n')}`)
          ready = sender.lines().map(line => JSON.parse(line) as { type: string, hash: string }).find(e => e.type === 'ready')
          if (ready === undefined) await new Promise(resolve => setTimeout(resolve, 100))
        }
        // Its root, its names and its two files.
        while (sender.lines().filter(line => line.includes('"announce:done"')).length < 4) {
          if (Date.now() > end) assert.fail(`send did not announce its collection: ${sender.lines().join('\n')}`)
          await new Promise(resolve => setTimeout(resolve, 100))
        }
        const out = join(dir, 'received')
        const got = await verity(['get', ready.hash, '--dht', '-o', out, '--timeout', '60s', '--data-dir', join(dir, 'get2')], { env: { ...process.env, VERITY_BOOTSTRAP: bootstrap } })
        assert.equal(got.status, 0, got.stderr)
        assert.match(got.stderr, /is a collection: fetching its files/)
        assert.ok(readFileSync(join(out, 'tree', 'one.bin')).equals(Buffer.from(one)))
        assert.ok(readFileSync(join(out, 'tree', 'sub', 'two.bin')).equals(Buffer.from(two)))
      } finally {
        assert.equal(await sender.stop(), 0)
      }
    } finally {
      assert.equal(await hub.stop(), 0)
    }
  })
})
