import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { randomBytes } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

/** `verity send` in its own process until stop(); the ticket from its --ticket-only line. */
async function sender (paths: string[], dataDir: string, extra: string[] = []): Promise<{ ticket: string, stop: () => Promise<number | null> }> {
  const { line, stop } = await startVerity(['send', ...paths, '--ticket-only', '--data-dir', dataDir, ...LOCAL, ...extra])
  return { ticket: line, stop }
}

describe('verity send / get: CLI processes on 127.0.0.1', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-transfer-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('sends a directory of nested files (an empty one too); get writes it byte for byte, refuses to overwrite, and skips the network once it is local', async () => {
    const src = join(dir, 'tree')
    mkdirSync(join(src, 'sub', 'deeper'), { recursive: true })
    const files: Record<string, Uint8Array> = {
      'a.bin': randomBytes(3 * 1024 * 1024 + 5, 1),
      'sub/b.txt': randomBytes(100, 2),
      'sub/deeper/c.bin': randomBytes(70000, 3),
      'empty.txt': new Uint8Array(0)
    }
    for (const [name, data] of Object.entries(files)) writeFileSync(join(src, name), data)
    const send = await sender([src], join(dir, 'send-data'))
    try {
      const cwd = join(dir, 'out1')
      mkdirSync(cwd)
      const got = await verity(['get', send.ticket, '--data-dir', join(dir, 'get-data')], { cwd })
      assert.equal(got.status, 0, got.stderr)
      for (const [name, data] of Object.entries(files)) {
        assert.ok(Buffer.from(readFileSync(join(cwd, 'tree', name))).equals(Buffer.from(data)), name)
      }
      const again = await verity(['get', send.ticket, '--data-dir', join(dir, 'get-data')], { cwd })
      assert.equal(again.status, 1)
      assert.match(again.stderr.trim().split('\n').pop() as string, /^verity: .* exists; pass --overwrite to replace it$/, 'the reason, one line, last')
      const stopped = await send.stop()
      assert.equal(stopped, 0, 'Ctrl-C ends send cleanly')
      // The sender is gone: everything is local, so no network is needed.
      const local = await verity(['get', send.ticket, '--data-dir', join(dir, 'get-data'), '-o', join(dir, 'out2')])
      assert.equal(local.status, 0, local.stderr)
      assert.match(local.stderr, /already here/)
      assert.ok(Buffer.from(readFileSync(join(dir, 'out2', 'tree', 'sub', 'deeper', 'c.bin'))).equals(Buffer.from(files['sub/deeper/c.bin'] as Uint8Array)))
    } finally {
      await send.stop()
    }
  })

  it('one file: -o names it, -o - streams it to stdout, an empty file arrives empty, --json is NDJSON', async () => {
    const data = randomBytes(1024 * 1024 + 3, 4)
    writeFileSync(join(dir, 'one.bin'), data)
    writeFileSync(join(dir, 'nothing.bin'), new Uint8Array(0))
    const one = await sender([join(dir, 'one.bin')], join(dir, 'send-one'))
    const none = await sender([join(dir, 'nothing.bin')], join(dir, 'send-none'))
    try {
      const named = await verity(['get', one.ticket, '-o', join(dir, 'copy.bin'), '--data-dir', join(dir, 'get-one')])
      assert.equal(named.status, 0, named.stderr)
      assert.ok(Buffer.from(readFileSync(join(dir, 'copy.bin'))).equals(Buffer.from(data)))
      mkdirSync(join(dir, 'into'))
      const into = await verity(['get', one.ticket, '-o', join(dir, 'into'), '--data-dir', join(dir, 'get-one')])
      assert.equal(into.status, 0, into.stderr)
      assert.ok(Buffer.from(readFileSync(join(dir, 'into', 'one.bin'))).equals(Buffer.from(data)), 'an existing directory takes the file by its name')
      const piped = await verity(['get', one.ticket, '-o', '-', '--data-dir', join(dir, 'get-pipe')])
      assert.equal(piped.status, 0, piped.stderr)
      assert.ok(piped.stdout.equals(Buffer.from(data)), 'stdout is the blob')
      const empty = await verity(['get', none.ticket, '-o', join(dir, 'empty-copy'), '--data-dir', join(dir, 'get-none')])
      assert.equal(empty.status, 0, empty.stderr)
      assert.equal(readFileSync(join(dir, 'empty-copy')).length, 0)
      const json = await verity(['get', one.ticket, '--json', '-o', join(dir, 'json-copy.bin'), '--data-dir', join(dir, 'get-json')])
      assert.equal(json.status, 0, json.stderr)
      const events = json.stdout.toString('utf8').trim().split('\n').map(line => JSON.parse(line) as { type: string })
      assert.ok(events.some(e => e.type === 'fetched') && events[events.length - 1]?.type === 'written', JSON.stringify(events))
    } finally {
      await one.stop()
      await none.stop()
    }
  })

  it('bad tickets and usage exit 2; an unknown hash, an unreachable provider and an existing output exit 1, each with a message', async () => {
    const data = join(dir, 'errors-data')
    const bad = await verity(['get', 'blobnotaticket', '--data-dir', data])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /not a ticket/)
    assert.equal((await verity(['get', '--data-dir', data])).status, 2)
    assert.equal((await verity(['get', 'a'.repeat(64), '--strategy', 'fastest', '--data-dir', data])).status, 2)
    const unknown = await verity(['get', 'ab'.repeat(32), '--data-dir', data])
    assert.equal(unknown.status, 1)
    assert.match(unknown.stderr, /no provider was given/)
    // A TCP port nobody listens on: refused at once, three attempts, then a clear failure.
    const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const unreachable = await verity(['get', 'ab'.repeat(32), '--provider', `/ip4/127.0.0.1/tcp/9/p2p/${nobody}`, '--data-dir', data])
    assert.equal(unreachable.status, 1)
    assert.match(unreachable.stderr, /no provider could deliver/)
    writeFileSync(join(dir, 'taken'), 'x')
    const taken = await verity(['get', 'ab'.repeat(32), '-o', join(dir, 'taken'), '--data-dir', data])
    assert.equal(taken.status, 1)
    assert.match(taken.stderr, /exists; pass --overwrite/)
  })

  it('Ctrl-C half-way exits 130 and keeps the verified part; the re-run fetches less than 60% of the 64 MiB', async () => {
    const size = 64 << 20
    writeFileSync(join(dir, 'big.bin'), randomBytes(size, 5))
    // 32 MiB/s: two seconds for the blob, so the interrupt lands half-way on any machine.
    const send = await sender([join(dir, 'big.bin')], join(dir, 'send-big'), ['--limit-rate', '32M'])
    try {
      const args = ['get', send.ticket, '--json', '-o', join(dir, 'big-copy.bin'), '--data-dir', join(dir, 'get-big')]
      let interruptedAt = 0
      const first = await verity(args, {
        onLine: (line, child) => {
          const event = JSON.parse(line) as { type: string, bytes?: number }
          if (interruptedAt === 0 && event.type === 'progress' && (event.bytes ?? 0) >= size * 0.45) {
            interruptedAt = event.bytes as number
            child.kill('SIGINT')
          }
        }
      })
      assert.ok(interruptedAt > 0, 'progress reached 45% before the end')
      assert.equal(first.status, 130, first.stderr)
      assert.match(first.stderr, /run the same command again to resume/)
      assert.ok(!existsSync(join(dir, 'big-copy.bin')), 'no output from an interrupted get')
      const second = await verity(args)
      assert.equal(second.status, 0, second.stderr)
      const fetched = second.stdout.toString('utf8').trim().split('\n').map(l => JSON.parse(l) as { type: string, bytes: number, localBytes: number, bytesReceived: number }).find(e => e.type === 'fetched')
      assert.ok(fetched !== undefined)
      assert.ok(fetched.localBytes >= interruptedAt, `kept ${fetched.localBytes}, had ${interruptedAt} at the interrupt`)
      assert.ok(fetched.bytesReceived < size * 0.6, `the re-run received ${fetched.bytesReceived} bytes`)
      assert.ok(Buffer.from(readFileSync(join(dir, 'big-copy.bin'))).equals(Buffer.from(randomBytes(size, 5))))
    } finally {
      await send.stop()
    }
  })
})
