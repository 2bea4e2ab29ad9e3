import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { byteStream } from '../../../src/net/stream.js'
import { IROH_PROTOCOL, VERITY_PROTOCOL } from '../../../protocol/constants.js'
import { fromHex } from '../../../store/hash-text.js'
import { randomBytes } from '../../helpers.js'
import { ask, HEALTH_LIMIT_MS, healthWatch, memoryOf, varint } from './attack-tools.js'
import { LOCAL, startVerity, verity } from '../cli-process.js'

describe('a provider under attack (a verity serve process)', function () {
  this.timeout(180000)
  let dir: string
  let big: Uint8Array // a 64 MiB raw blob
  let mid: Uint8Array // 8 MiB: a multiple of 32 bytes, within the HashSeq limit
  let serve: Awaited<ReturnType<typeof startVerity>>
  let url: string
  let addr: string
  let attacker: VerityNode

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-attack-'))
    writeFileSync(join(dir, 'big.bin'), randomBytes(64 << 20, 1401))
    writeFileSync(join(dir, 'mid.bin'), randomBytes(8 << 20, 1402))
    const added = await verity(['add', join(dir, 'big.bin'), join(dir, 'mid.bin'), '--data-dir', join(dir, 'data')])
    assert.equal(added.status, 0, added.stderr)
    const [bigHex, midHex] = added.stdout.toString().trim().split('\n').map(line => line.split(/\s+/)[0] as string)
    big = fromHex(bigHex as string)
    mid = fromHex(midHex as string)
    serve = await startVerity(['serve', '--data-dir', join(dir, 'data'), '--http', '127.0.0.1:0', '--json', ...LOCAL])
    const ready = JSON.parse(serve.line) as { url: string, addrs: string[] }
    url = ready.url
    addr = ready.addrs.find(a => a.includes('/quic-v1')) as string
    attacker = await createNode()
  })
  after(async () => {
    await attacker?.stop()
    await serve?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('16 requests reading a 64 MiB raw blob as a HashSeq: refused at once, RSS stays under 300 MB, a good fetch completes', async () => {
    const connection = await attacker.libp2p.dial(multiaddr(addr))
    const health = healthWatch(url)
    const honest = await createNode()
    try {
      const before = memoryOf(serve.pid)
      const fetching = honest.remote.fetch(addr, big)
      // `00 hash 01 01 01 00`: every child of the root, on the framed and the iroh protocol.
      const attack = (hash: Uint8Array, protocol: string): Promise<Awaited<ReturnType<typeof ask>>> =>
        ask(connection, Uint8Array.from([0, ...hash, 1, 1, 1, 0]), { protocol })
      // Odd ones on plain iroh (a reset says nothing); every fourth reads the 8 MiB blob, streamed.
      const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => attack(i % 4 === 2 ? mid : big, i % 2 === 0 ? VERITY_PROTOCOL : IROH_PROTOCOL)))
      const during = memoryOf(serve.pid)
      for (const [i, answer] of answers.entries()) {
        assert.ok(answer.ms < 5000, `answered in ${answer.ms.toFixed(0)} ms`)
        if (i % 2 === 0) assert.match(answer.tail, i % 4 === 2 ? /is not here/ : /InvalidHashSeq.*over the HashSeq limit/, answer.tail)
      }
      const result = await fetching
      assert.equal(result.complete, true)
      assert.ok(Buffer.from(await honest.blobs.getBytes(big)).equals(Buffer.from(randomBytes(64 << 20, 1401))))
      const after = memoryOf(serve.pid)
      const { slowestMs, missed } = await health.stop()
      const note = `RSS ${before.rss.toFixed(0)} -> ${during.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MB, peak ${after.peak.toFixed(0)} MB, /health slowest ${slowestMs.toFixed(0)} ms`
      if (process.env.VERITY_DEBUG !== undefined) process.stderr.write(`${note}\n`)
      assert.ok(after.peak < 300, note)
      assert.equal(missed, 0, note)
      assert.ok(slowestMs < HEALTH_LIMIT_MS, note)
    } finally {
      await honest.stop()
      await health.stop()
      await connection.close()
    }
  })

  it('65,536 single-chunk ranges: RequestTooLarge within 1 s, the connection and /health answer throughout', async () => {
    const connection = await attacker.libp2p.dial(multiaddr(addr))
    const health = healthWatch(url)
    try {
      // RangeSpec: count, then widths 1, 1, 1, ... (every other chunk, from chunk 1).
      const spans = 65536
      const widths = new Array<number>(2 * spans).fill(1)
      const cpu = Uint8Array.from([0, ...big, 2, 0, ...varint(2 * spans), ...widths, 1, 0])
      const answer = await ask(connection, cpu)
      assert.ok(answer.ms < 1000, `${answer.ms.toFixed(0)} ms`)
      assert.match(answer.tail, /RequestTooLarge: a RangeSpec of 65536 ranges is over the limit of 4096/)
      // Just under the limits: 4,096 single chunks, one in every group, is served, and fast.
      const legal = Uint8Array.from([0, ...big, 2, 0, ...varint(8192), ...Array.from({ length: 4096 }, (_, i) => [i === 0 ? 0 : 15, 1]).flat(), 1, 0])
      const served = await ask(connection, legal)
      assert.equal(served.error, undefined)
      assert.ok(served.bytes > 4096 * 1024, `${served.bytes} bytes`)
      // A RangeSpecSeq of too many entries, and counts that claim more than the request holds.
      const entries = Uint8Array.from([0, ...big, ...varint(5000), ...Array.from({ length: 5000 }, () => [1, 1, 0]).flat()])
      assert.match((await ask(connection, entries)).tail, /RequestTooLarge: a RangeSpecSeq of 5000 entries/)
      const claims = Uint8Array.from([0, ...big, 1, 0, ...varint(2 ** 40)])
      assert.match((await ask(connection, claims)).tail, /MalformedMessage/)
      // The same connection still serves.
      const good = await ask(connection, Uint8Array.from([0, ...big, 2, 0, 2, 0, 16, 1, 0]))
      assert.equal(good.bytes > 16 * 1024, true)
      const { slowestMs, missed, polls } = await health.stop()
      assert.equal(missed, 0, `${missed} of ${polls} /health polls missed`)
      assert.ok(slowestMs < HEALTH_LIMIT_MS, `/health slowest ${slowestMs.toFixed(0)} ms`)
    } finally {
      await health.stop()
      await connection.close()
    }
  })

  it('whole-blob requests that read nothing, 10 from each of 3 peers: memory stays bounded, a good fetch completes', async () => {
    const peers = [await createNode(), await createNode(), await createNode()]
    const health = healthWatch(url)
    const honest = await createNode()
    const streams: Array<ReturnType<typeof byteStream>> = []
    try {
      const before = memoryOf(serve.pid)
      // Every stream is negotiated before any request is sent: once the provider fills a
      // connection's window with what the attacker does not read, even negotiating a new stream
      // on it stalls (that hurts the attacker, not the provider), and the test would count fewer.
      for (const peer of peers) {
        const connection = await peer.libp2p.dial(multiaddr(addr))
        for (let i = 0; i < 10; i++) {
          streams.push(byteStream(await connection.newStream(VERITY_PROTOCOL, { signal: AbortSignal.timeout(10000) })))
        }
      }
      for (const stream of streams) {
        await stream.write(Uint8Array.from([0, ...big, 2, 0, 1, 0, 1, 0]))
        await stream.closeWrite()
      }
      assert.equal(streams.length, 30)
      // Let the provider fill every stream's flow-control window and block.
      await new Promise(resolve => setTimeout(resolve, 3000))
      const stalled = memoryOf(serve.pid)
      const result = await honest.remote.fetch(addr, big, { range: { offset: 10 << 20, length: 4 << 20 } })
      assert.equal(result.complete, true)
      const { slowestMs, missed } = await health.stop()
      const note = `RSS ${before.rss.toFixed(0)} -> ${stalled.rss.toFixed(0)} MB with ${streams.length} stalled responses (peak ${memoryOf(serve.pid).peak.toFixed(0)} MB), /health slowest ${slowestMs.toFixed(0)} ms`
      if (process.env.VERITY_DEBUG !== undefined) process.stderr.write(`${note}\n`)
      assert.ok(stalled.rss - before.rss < 200, note)
      assert.equal(missed, 0, note)
    } finally {
      for (const stream of streams) stream.abort(new Error('test done'))
      await health.stop()
      await honest.stop()
      await Promise.all(peers.map(async p => { await p.stop() }))
    }
  })

  it('stops within a few seconds of SIGTERM with requests and observers open', async () => {
    const connection = await attacker.libp2p.dial(multiaddr(addr))
    // A whole-blob Get nobody reads, and observers, left open.
    const unread = connection.newStream(VERITY_PROTOCOL).then(async raw => {
      const stream = byteStream(raw)
      await stream.write(Uint8Array.from([0, ...big, 2, 0, 1, 0, 1, 0]))
      await stream.closeWrite()
    })
    const observers = Array.from({ length: 8 }, () => ask(connection, Uint8Array.from([1, ...big, 1, 0]), { ms: 30000 }))
    await unread
    await new Promise(resolve => setTimeout(resolve, 500))
    const started = performance.now()
    const code = await serve.signal('SIGTERM')
    const seconds = (performance.now() - started) / 1000
    assert.ok(seconds < 6, `exited ${seconds.toFixed(1)} s after SIGTERM`)
    assert.equal(code, 0)
    await Promise.all(observers)
  })
})
