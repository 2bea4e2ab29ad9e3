import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { byteStream } from '../../../src/net/stream.js'
import { concat, randomBytes } from '../../helpers.js'

const ECHO = '/verity-test/echo/1'

/** Serve an echo protocol: read everything, send it back, close. */
async function serveEcho (node: VerityNode): Promise<void> {
  await node.libp2p.handle(ECHO, async stream => {
    const s = byteStream(stream)
    for await (const chunk of s.source) await s.write(chunk)
    await s.closeWrite()
  })
}

describe('createNode: libp2p over QUIC and TCP on 127.0.0.1', function () {
  this.timeout(60000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-node-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('keeps its identity in the data directory across restarts', async () => {
    const first = await createNode({ dataDir: dir })
    const id = first.peerId
    await first.stop()
    assert.equal(statSync(join(dir, 'identity.key')).mode & 0o777, 0o600)
    const second = await createNode({ dataDir: dir })
    assert.equal(second.peerId, id)
    await second.stop()
  })

  for (const transport of ['quic-v1', 'tcp']) {
    it(`moves bytes both ways over ${transport}`, async () => {
      const a = await createNode()
      const b = await createNode()
      try {
        await serveEcho(b)
        const addr = b.addrs().find(ma => ma.toString().includes(`/${transport}`) || (transport === 'tcp' && ma.toString().includes('/tcp/')))
        assert.ok(addr !== undefined, `b listens on ${transport}: ${b.addrs().map(String).join(' ')}`)
        const stream = byteStream(await a.libp2p.dialProtocol(addr, ECHO))
        const payload = randomBytes(3 * 1024 * 1024 + 11, 7)
        const received: Uint8Array[] = []
        const reading = (async () => { for await (const chunk of stream.source) received.push(chunk) })()
        for (let at = 0; at < payload.length; at += 100000) await stream.write(payload.subarray(at, at + 100000))
        await stream.closeWrite()
        await reading
        assert.ok(Buffer.from(concat(received)).equals(payload))
        const conns = a.libp2p.getConnections()
        assert.ok(conns.some(c => c.remoteAddr.toString().includes(transport === 'tcp' ? '/tcp/' : '/quic-v1')))
      } finally {
        await a.stop()
        await b.stop()
      }
    })
  }

  for (const transport of ['quic-v1', 'tcp']) {
    it(`holds a fast sender back for a slow reader over ${transport}, and delivers every byte after the sender closed`, async () => {
      const a = await createNode()
      const b = await createNode()
      const size = 40 * 1024 * 1024
      try {
        const SINK = '/verity-test/sink/1'
        await b.libp2p.handle(SINK, async stream => {
          const s = byteStream(stream)
          for (let at = 0; at < size; at += 256 * 1024) await s.write(new Uint8Array(256 * 1024).fill(at / (256 * 1024) & 0xff))
          await s.closeWrite()
        })
        const addr = b.addrs().find(ma => ma.toString().includes(transport === 'tcp' ? '/tcp/' : '/quic-v1'))
        const stream = byteStream(await a.libp2p.dialProtocol(addr as never, SINK))
        await stream.closeWrite()
        // Read nothing for a while: the adapter pauses the stream, the transport holds what the
        // sender still has in flight, and the sender finishes and closes meanwhile.
        await new Promise(resolve => setTimeout(resolve, 1500))
        let received = 0
        for await (const chunk of stream.source) {
          received += chunk.length
          if (received % (4 << 20) < chunk.length) await new Promise(resolve => setTimeout(resolve, 50))
        }
        assert.equal(received, size)
      } finally {
        await a.stop()
        await b.stop()
      }
    })
  }

  for (const transport of ['quic-v1', 'tcp']) {
    it(`resets a stream whose reader stopped taking bytes for writeStallMs over ${transport}: the writer gets Timeout`, async () => {
      const a = await createNode()
      const b = await createNode()
      try {
        const STALL = '/verity-test/stall/1'
        let failed!: (err: Error) => void
        const failure = new Promise<Error>(resolve => { failed = resolve })
        await b.libp2p.handle(STALL, async stream => {
          const s = byteStream(stream, { writeStallMs: 500 })
          try {
            for (let i = 0; i < 1024; i++) await s.write(new Uint8Array(256 * 1024))
          } catch (err) {
            failed(err as Error)
          }
        })
        const addr = b.addrs().find(ma => ma.toString().includes(transport === 'tcp' ? '/tcp/' : '/quic-v1'))
        const stream = byteStream(await a.libp2p.dialProtocol(addr as never, STALL))
        await stream.closeWrite()
        // Never read: the adapter pauses the stream once 4 MiB wait, and the sender is held back.
        const error = await failure
        assert.equal(error.name, 'Timeout', error.message)
      } finally {
        await a.stop()
        await b.stop()
      }
    })
  }

  it('accepts a burst of new connections from one host, and refuses past limits.inboundConnectionsPerSecond', async () => {
    const data = randomBytes(1000, 9)
    // A refused QUIC connection completes its handshake and is closed at once: count fetches.
    const fetched = async (nodes: VerityNode[], target: VerityNode): Promise<number> => {
      const { hash } = await target.blobs.addBytes(data)
      const results = await Promise.allSettled(nodes.map(async n => await n.remote.fetch(target.ticket(hash))))
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof Error && r.reason.name !== '', `a refusal is an Error: ${String(r.reason)}`)
      return results.filter(r => r.status === 'fulfilled' && r.value.complete).length
    }
    const roomy = await createNode()
    const strict = await createNode({ limits: { inboundConnectionsPerSecond: 2 }, pool: { connectTimeoutMs: 3000 } })
    const clients = await Promise.all(Array.from({ length: 12 }, async () => await createNode({ pool: { connectTimeoutMs: 3000 } })))
    try {
      assert.equal(await fetched(clients.slice(0, 8), roomy), 8, 'libp2p alone would refuse the sixth')
      const accepted = await fetched(clients.slice(8), strict)
      assert.ok(accepted >= 1 && accepted <= 2, `the strict node accepted ${accepted} of 4`)
    } finally {
      await Promise.all([roomy, strict, ...clients].map(async n => { await n.stop() }))
    }
  })

  it('a provider address that accepts and never speaks: the fetch fails with verity\'s Timeout (libp2p\'s per-address one, named), not a raw TimeoutError', async () => {
    const held: Socket[] = []
    const silent = createServer(socket => { held.push(socket); socket.on('error', () => {}) })
    await new Promise<void>(resolve => { silent.listen(0, '127.0.0.1', resolve) })
    const node = await createNode({ listen: [], pool: { connectTimeoutMs: 20000 } })
    try {
      const port = (silent.address() as { port: number }).port
      const peer = '12D3KooWCP64nfff9Xrn6no6ShqnfNU8WxreUvVqfAnvvniVsQng'
      const err = await node.remote.fetch(`/ip4/127.0.0.1/tcp/${port}/p2p/${peer}`, randomBytes(32, 1)).then(() => undefined, (e: unknown) => e as Error)
      assert.equal(err?.name, 'Timeout', `${err?.name}: ${err?.message}`)
      assert.match(err?.message ?? '', new RegExp(`no connection to ${peer}: its address timed out`))
      assert.match((err?.cause as Error | undefined)?.message ?? '', /aborted due to timeout/, 'libp2p\'s error kept as the cause')
    } finally {
      await node.stop()
      for (const socket of held) socket.destroy()
      await new Promise(resolve => silent.close(resolve))
    }
  })
})
