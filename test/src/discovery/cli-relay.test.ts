import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BlobTicket } from '../../../src/ticket.js'
import { randomBytes } from '../../helpers.js'
import { startVerity, verity } from '../cli-process.js'

describe('verity serve --relay, send --relay-via (on 127.0.0.1)', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-relay-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('serve --relay says its limits; send --relay-via prints a ticket with the relayed address beside a TCP one; get fetches it', async () => {
    const relay = await startVerity(['serve', '--relay', '--relay-max-bytes', '64M', '--relay-max-duration', '2m', '--relay-max-reservations', '4',
      '--json', '--http', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'relay')])
    let sender: Awaited<ReturnType<typeof startVerity>> | undefined
    try {
      await new Promise(resolve => setTimeout(resolve, 100))
      const events = relay.lines().map(line => JSON.parse(line) as { type: string, addrs?: string[], relay?: boolean })
      assert.ok(events.some(e => e.type === 'reachability' && e.relay === true), relay.lines().join('\n'))
      const relayAddr = events.find(e => e.type === 'ready')?.addrs?.[0] as string
      const file = join(dir, 'f.bin')
      const bytes = randomBytes(200_000, 4)
      writeFileSync(file, bytes)
      sender = await startVerity(['send', file, '--ticket-only', '--relay-via', relayAddr, '--listen', '/ip4/127.0.0.1/tcp/0'])
      const ticket = BlobTicket.parse(sender.line)
      assert.deepEqual(ticket.addrs, [], 'TCP only: no QUIC address')
      const addrs = ticket.multiaddrs.map(String)
      assert.ok(addrs.some(a => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/.test(a)), addrs.join(' '))
      assert.ok(addrs.includes(`${relayAddr}/p2p-circuit`), addrs.join(' '))
      assert.match(sender.stderr(), /reachable through a relay at /)
      const out = join(dir, 'got')
      const got = await verity(['get', sender.line, '-o', out, '--data-dir', join(dir, 'get')])
      assert.equal(got.status, 0, got.stderr)
      assert.ok(readFileSync(out).equals(Buffer.from(bytes)), 'a one-file collection written as the file -o names')
    } finally {
      await sender?.stop()
      await relay.stop()
    }
  })

  it('a relay limit without --relay is a usage error (exit 2); an unreachable relay is RelayReservationFailed (exit 1)', async () => {
    const usage = await verity(['serve', '--relay-max-bytes', '1M', '--data-dir', join(dir, 'x')])
    assert.equal(usage.status, 2, usage.stderr)
    assert.match(usage.stderr, /--relay-max-bytes goes with --relay/)
    const file = join(dir, 'small.bin')
    writeFileSync(file, randomBytes(100, 2))
    const relayId = '12D3KooWCP64nfff9Xrn6no6ShqnfNU8WxreUvVqfAnvvniVsQng'
    const gone = await verity(['send', file, '--relay-via', `/ip4/127.0.0.1/tcp/1/p2p/${relayId}`, '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(gone.status, 1, gone.stderr)
    assert.match(gone.stderr, new RegExp(`RelayReservationFailed: could not reserve a slot on the relay /ip4/127.0.0.1/tcp/1/p2p/${relayId}`))
  })
})
