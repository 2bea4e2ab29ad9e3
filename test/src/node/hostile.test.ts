import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { byteStream } from '../../../src/net/stream.js'
import { IROH_PROTOCOL, VERITY_PROTOCOL } from '../../../protocol/constants.js'
import { ResponseWriter } from '../../../protocol/frame.js'
import { RangeSpecSeq } from '../../../protocol/range-spec.js'
import { encodeRequest, MAX_REQUEST_SIZE } from '../../../protocol/request.js'
import { computeOutboard } from '../../../store/bao/outboard.js'
import { fromHex } from '../../../store/hash-text.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { collect, concat, flip, randomBytes, rejection } from '../../helpers.js'
import { PeerProcess } from './peer-process.js'

const GROUP = 16384

/** Index of `needle` in `haystack` (unique for random data). */
function indexOf (haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length).indexOf(Buffer.from(needle))
}

describe('hostile peers', function () {
  this.timeout(120000)

  describe('a provider that corrupts one byte', () => {
    const size = 2 * 1024 * 1024
    const data = randomBytes(size, 21)
    let liar: VerityNode
    let requester: VerityNode
    let corrupt: (response: Uint8Array) => void = () => {}
    let hash: Uint8Array

    before(async () => {
      liar = await createNode()
      hash = (await liar.blobs.addBytes(data)).hash
      // Serves the honest response with one byte flipped by `corrupt`, and a clean Ok status.
      await liar.libp2p.unhandle(VERITY_PROTOCOL)
      await liar.libp2p.handle(VERITY_PROTOCOL, async stream => {
        const s = byteStream(stream)
        await collect(s.source)
        const response = concat(await collect(liar.blobs.exportBao(hash, ChunkRanges.all())))
        corrupt(response)
        const out = new ResponseWriter(s, true)
        await out.write(response)
        await out.end()
      })
    })
    after(async () => { await liar.stop() })
    beforeEach(async () => { requester = await createNode() })
    afterEach(async () => { await requester.stop() })
    const addr = (): string => String(liar.addrs().find(a => a.toString().includes('/quic-v1')))

    it('one data byte: LeafHashMismatch, no byte of that group stored, the groups before it kept', async () => {
      const group = 90
      corrupt = response => { flip(response, indexOf(response, data.subarray(group * GROUP + 100, group * GROUP + 164)) + 7) }
      const error = await rejection(() => requester.remote.fetch(addr(), hash))
      assert.equal(error.name, 'LeafHashMismatch')
      const present = (await requester.blobs.bitfield(hash)).ranges
      assert.ok(!present.intersects(group * 16, (group + 1) * 16), `group ${group} is not stored: ${present.toString()}`)
      assert.ok(present.containsRange(0, group * 16), `groups before it are kept: ${present.toString()}`)
      for await (const piece of requester.blobs.reader(hash, { offset: 0, length: group * GROUP })) assert.ok(piece.length > 0)
    })

    it('one hash pair: ParentHashMismatch, nothing under that node stored, what came before kept', async () => {
      const { outboard } = computeOutboard(data)
      // Pre-order pair 70 of the outboard: find which chunks it covers from the decoder's error.
      const pair = outboard.subarray(70 * 64, 71 * 64)
      corrupt = response => { flip(response, indexOf(response, pair) + 33, 0x80) }
      const error = await rejection(() => requester.remote.fetch(addr(), hash))
      assert.equal(error.name, 'ParentHashMismatch')
      const { startChunk, endChunk } = error as unknown as { startChunk: number, endChunk: number }
      const present = (await requester.blobs.bitfield(hash)).ranges
      assert.ok(!present.intersects(startChunk, endChunk), `chunks ${startChunk}..${endChunk} not stored: ${present.toString()}`)
      assert.ok(present.containsRange(0, startChunk), `what came before is kept: ${present.toString()}`)
      assert.ok(startChunk > 0)
    })
  })

  it('a requester sending 2,000 random or truncated frames and 100 oversized ones: answered, provider stays up and small', async () => {
    const provider = await PeerProcess.start({ sizes: [20 * 1024 * 1024] })
    const attacker = await createNode()
    const honest = await createNode()
    try {
      const hash = fromHex(provider.ready.blobs[0] as string)
      const addr = provider.addr()
      const conn = await attacker.libp2p.dial(multiaddr(addr))
      const before = await provider.command<{ rss: number, heapUsed: number }>('rss')
      // The well-behaved fetch runs alongside the attack.
      const fetching = honest.remote.fetch(addr, hash)
      const valid = [
        encodeRequest({ type: 'get', request: { hash, ranges: RangeSpecSeq.root() } }),
        encodeRequest({ type: 'getMany', hashes: [hash, hash], ranges: RangeSpecSeq.all() }),
        encodeRequest({ type: 'push', request: { hash, ranges: RangeSpecSeq.root() } })
      ]
      const outcomes = { status: 0, reset: 0, data: 0 }
      const frame = (i: number): Uint8Array => {
        if (i >= 2000) {
          const body = randomBytes(MAX_REQUEST_SIZE + 2 + (i % 7) * 1000, i)
          body[0] = [0, 1, 9][i % 3] as number
          return body
        }
        if (i % 2 === 0) {
          const whole = valid[i % valid.length] as Uint8Array
          return whole.subarray(0, i % whole.length) // truncated (never complete)
        }
        const junk = randomBytes(1 + (i % 300), i)
        if (i % 3 === 0) junk[0] = [0, 1, 8, 9][i % 4] as number
        return junk
      }
      const attack = async (i: number): Promise<void> => {
        const stream = byteStream(await conn.newStream(i % 5 === 0 ? IROH_PROTOCOL : VERITY_PROTOCOL))
        const bytes = frame(i)
        const reading = (async () => {
          let received = 0
          try {
            for await (const chunk of stream.source) {
              received += chunk.length
              if (received > 100 * 1024) { stream.abort(new Error('enough')); break }
            }
          } catch {
            outcomes.reset++
            return
          }
          if (received === 0) outcomes.reset++
          else if (received < 1024) outcomes.status++
          else outcomes.data++
        })()
        try {
          for (let at = 0; at < bytes.length; at += 64 * 1024) await stream.write(bytes.subarray(at, at + 64 * 1024))
          await stream.closeWrite()
        } catch {
          // The provider may stop reading an oversized request and close first.
        }
        // Random bytes can make a valid Observe, which streams until the requester leaves.
        const timer = setTimeout(() => stream.abort(new Error('done watching')), 1500)
        await reading
        clearTimeout(timer)
      }
      let next = 0
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < 2100) await attack(next++)
      }))
      const result = await fetching
      assert.equal(result.complete, true, 'the honest fetch completed during the attack')
      // The provider still serves new requests.
      const third = await createNode()
      try {
        assert.equal((await third.remote.fetch(addr, hash, { range: { offset: 0, length: 1 } })).complete, true)
      } finally {
        await third.stop()
      }
      const after = await provider.command<{ rss: number, heapUsed: number, peak: number }>('rss')
      // libp2p keeps each stream reachable until its 10 s protocol-negotiation timer fires, so
      // live memory right after the burst is higher; 11 s later it is back near the start.
      await new Promise(resolve => setTimeout(resolve, 11000))
      const settled = await provider.command<{ rss: number, heapUsed: number, peak: number }>('rss')
      const mb = (n: number): string => (n / 1048576).toFixed(0)
      const growth = `heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} -> ${mb(settled.heapUsed)} MB, RSS ${mb(before.rss)} -> ${mb(after.rss)} -> ${mb(settled.rss)} MB, peak ${mb(settled.peak)} MB`
      if (process.env.VERITY_DEBUG !== undefined) process.stderr.write(`${growth} ${JSON.stringify(outcomes)}\n`)
      assert.ok(after.heapUsed - before.heapUsed < 64 * 1024 * 1024, growth)
      assert.ok(settled.heapUsed - before.heapUsed < 16 * 1024 * 1024, growth)
      assert.ok(settled.peak < 512 * 1024 * 1024, growth)
    } finally {
      await attacker.stop()
      await honest.stop()
      await provider.stop()
    }
  })
})
