import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
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
      // cat of the file's blob by a ticket naming the relayed address alone: dialled through the relay too.
      const fileHash = (await verity(['ls', '--json', '--data-dir', join(dir, 'get')])).stdout.toString().split('\n').filter(l => l !== '')
        .map(l => JSON.parse(l) as { hash: string, size: number }).find(e => e.size === bytes.length)?.hash as string
      const relayedOnly = new BlobTicket({ nodeId: ticket.nodeId, hash: Buffer.from(fileHash, 'hex'), multiaddrs: ticket.multiaddrs.filter(a => a.toString() === `${relayAddr}/p2p-circuit`) })
      const catted = await verity(['cat', relayedOnly.toString(), '--data-dir', join(dir, 'cat')])
      assert.equal(catted.status, 0, catted.stderr)
      assert.ok(catted.stdout.equals(Buffer.from(bytes)), 'cat through the relay')
      // And a gateway whose --provider is reachable only through the relay fetches from it on demand.
      const gateway = await startVerity(['serve', '--http', '127.0.0.1:0', '--provider', relayedOnly.toString(), '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'gateway')])
      try {
        const answer = await fetch(`${gateway.line}/blob/${fileHash}`)
        assert.equal(answer.status, 200, gateway.stderr())
        assert.ok(Buffer.from(await answer.arrayBuffer()).equals(Buffer.from(bytes)), 'the gateway through the relay')
      } finally {
        await gateway.stop()
      }
    } finally {
      await sender?.stop()
      await relay.stop()
    }
  })

  it('serve --stun-server answers STUN where it says; send and get take --stun; bad values are usage errors (exit 2)', async () => {
    const relay = await startVerity(['serve', '--relay', '--stun-server', '127.0.0.1:0', '--json', '--http', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'relay-stun')])
    let sender: Awaited<ReturnType<typeof startVerity>> | undefined
    try {
      await new Promise(resolve => setTimeout(resolve, 100))
      const events = relay.lines().map(line => JSON.parse(line) as { type: string, addrs?: string[], stun?: string })
      const stun = events.find(e => e.type === 'reachability')?.stun as string
      assert.match(stun, /^127\.0\.0\.1:\d+$/, relay.lines().join('\n'))
      // A Binding request from a real UDP socket: the answer names that socket's port.
      const socket = createSocket('udp4')
      try {
        const request = Buffer.alloc(20)
        request.writeUInt16BE(1, 0)
        request.writeUInt32BE(0x2112a442, 4)
        const answer = new Promise<Buffer>(resolve => socket.once('message', resolve))
        await new Promise<void>(resolve => { socket.bind(0, '127.0.0.1', resolve) })
        socket.send(request, Number(stun.split(':')[1]), '127.0.0.1')
        const response = await answer
        assert.equal(response.readUInt16BE(0), 0x0101)
        assert.equal(response.readUInt16BE(26) ^ 0x2112, socket.address().port)
      } finally {
        socket.close()
      }
      const relayAddr = events.find(e => e.type === 'ready')?.addrs?.[0] as string
      const file = join(dir, 'stun.bin')
      const bytes = randomBytes(100_000, 8)
      writeFileSync(file, bytes)
      sender = await startVerity(['send', file, '--ticket-only', '--relay-via', relayAddr, '--stun', stun, '--listen', '/ip4/127.0.0.1/tcp/0'])
      assert.ok(BlobTicket.parse(sender.line).multiaddrs.map(String).includes(`${relayAddr}/p2p-circuit/webrtc`), 'the WebRTC address through the relay')
      const out = join(dir, 'got-stun')
      const got = await verity(['get', sender.line, '-o', out, '--stun', `stun:${stun}`, '--data-dir', join(dir, 'get-stun')])
      assert.equal(got.status, 0, got.stderr)
      assert.ok(readFileSync(out).equals(Buffer.from(bytes)))
    } finally {
      await sender?.stop()
      await relay.stop()
    }
    for (const [args, message] of [
      [['get', 'ab'.repeat(32), '--stun', 'nowhere'], /--stun takes a STUN server as host:port/],
      [['send', join(dir, 'stun.bin'), '--stun', 'turn:1.2.3.4:3478'], /--stun takes a STUN server as host:port/],
      [['serve', '--stun-server', '1.2.3.4:99999'], /--stun-server takes <ip>:<port> or <port>/],
      [['serve', '--stun-server', 'example.com:3478'], /--stun-server takes <ip>:<port> or <port>/],
      [['send', join(dir, 'stun.bin'), '--dht', ...new Array<string[]>(9).fill(['--relay-via', 'dht']).flat()], /--relay-via dht asks for one relay each time it is given: at most 8, not 9/]
    ] as Array<[string[], RegExp]>) {
      const ran = await verity([...args, '--data-dir', join(dir, 'usage')])
      assert.equal(ran.status, 2, `${args.join(' ')}: ${ran.stderr}`)
      assert.match(ran.stderr, message)
    }
    // A STUN port in use: StunServerFailed naming it, exit 1, and what to do.
    const taken = createSocket('udp4')
    try {
      await new Promise<void>(resolve => { taken.bind(0, '127.0.0.1', resolve) })
      const port = taken.address().port
      const ran = await verity(['serve', '--stun-server', `127.0.0.1:${port}`, '--http', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'stun-taken')])
      assert.equal(ran.status, 1, ran.stderr)
      assert.match(ran.stderr, new RegExp(`^verity: StunServerFailed: cannot answer STUN on 127\\.0\\.0\\.1:${port} \\(udp\\): EADDRINUSE \\(give --stun-server another address or port`, 'm'))
    } finally {
      taken.close()
    }
  })

  it('send --dht --relay-via dht: a relay met through the DHT (not the bootstrap peer) holds its slot, and the ticket names it; without --dht, exit 2', async () => {
    const usage = await verity(['send', join(dir, 'f.bin'), '--relay-via', 'dht', '--data-dir', join(dir, 'usage-dht')])
    assert.equal(usage.status, 2, usage.stderr)
    assert.match(usage.stderr, /--relay-via dht finds a relay through the DHT: add --dht/)
    const serve = async (name: string, ...more: string[]): Promise<{ proc: Awaited<ReturnType<typeof startVerity>>, addr: string }> => {
      const proc = await startVerity(['serve', '--dht', ...more, '--json', '--http', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, name)])
      await new Promise(resolve => setTimeout(resolve, 100))
      const ready = proc.lines().map(line => JSON.parse(line) as { type: string, addrs?: string[] }).find(e => e.type === 'ready')
      return { proc, addr: ready?.addrs?.[0] as string }
    }
    const relay = await serve('dht-relay', '--relay')
    let hub: Awaited<ReturnType<typeof serve>> | undefined
    let sender: Awaited<ReturnType<typeof startVerity>> | undefined
    try {
      hub = await serve('dht-hub', '--bootstrap', relay.addr)
      const file = join(dir, 'dht-relay.bin')
      const bytes = randomBytes(50_000, 12)
      writeFileSync(file, bytes)
      sender = await startVerity(['send', file, '--ticket-only', '--dht', '--bootstrap', hub.addr, '--relay-via', 'dht', '--listen', '/ip4/127.0.0.1/tcp/0'])
      const addrs = BlobTicket.parse(sender.line).multiaddrs.map(String)
      assert.ok(addrs.includes(`${relay.addr}/p2p-circuit`), addrs.join(' '))
      assert.match(sender.stderr(), /reachable through a relay at /)
      const out = join(dir, 'got-dht-relay')
      const got = await verity(['get', sender.line, '-o', out, '--data-dir', join(dir, 'get-dht-relay')])
      assert.equal(got.status, 0, got.stderr)
      assert.ok(readFileSync(out).equals(Buffer.from(bytes)))
    } finally {
      await sender?.stop()
      await hub?.proc.stop()
      await relay.proc.stop()
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
