import assert from 'node:assert/strict'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { RangeSpecSeq } from '../../../protocol/range-spec.js'
import { fromHex } from '../../../store/hash-text.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { blake3 } from '../../../store/bao/hash.js'
import { randomBytes, rejection } from '../../helpers.js'
import { PeerProcess } from './peer-process.js'
import type { FetchProgress } from '../../../src/remote.js'

const SIZES = [0, 1, 16 * 1024, 100 * 1024, 20 * 1024 * 1024]
const LARGE = 4 // index of the 20 MiB blob

describe('fetching from a node in another process (QUIC and TCP on 127.0.0.1)', function () {
  this.timeout(120000)
  let provider: PeerProcess
  let node: VerityNode

  before(async () => {
    provider = await PeerProcess.start({ sizes: SIZES, collection: 50 })
  })
  after(async () => { await provider.stop() })
  beforeEach(async () => { node = await createNode() })
  afterEach(async () => { await node.stop() })

  it('fetches 0 B, 1 B, 16 KiB, 100 KiB and 20 MiB blobs over QUIC, verified', async () => {
    for (const [i, size] of SIZES.entries()) {
      const hash = fromHex(provider.ready.blobs[i] as string)
      const result = await node.remote.fetch(provider.addr('quic-v1'), hash)
      assert.equal(result.complete, true, `size ${size}`)
      assert.equal(result.bytesWritten, size)
      const data = await node.blobs.getBytes(hash)
      assert.equal(data.length, size)
      assert.ok(Buffer.from(data).equals(Buffer.from(randomBytes(size, i + 1))), `content of size ${size}`)
    }
    const again = await node.remote.fetch(provider.addr('quic-v1'), fromHex(provider.ready.blobs[LARGE] as string))
    assert.equal(again.bytesRead, 0, 'nothing is fetched twice')
    assert.ok(node.libp2p.getConnections().every(c => c.remoteAddr.toString().includes('/quic-v1')))
  })

  it('fetches over TCP (noise + yamux) too', async () => {
    const hash = fromHex(provider.ready.blobs[LARGE] as string)
    const result = await node.remote.fetch(provider.addr('tcp'), hash)
    assert.equal(result.complete, true)
    assert.ok(Buffer.from(await node.blobs.getBytes(hash)).equals(Buffer.from(randomBytes(SIZES[LARGE] as number, LARGE + 1))))
    assert.ok(node.libp2p.getConnections().some(c => c.remoteAddr.toString().includes('/tcp/')))
  })

  it('fetches a byte range in the middle of a large blob: only the covering groups travel', async () => {
    const hash = fromHex(provider.ready.blobs[LARGE] as string)
    const offset = 10 * 1024 * 1024 + 5000
    const length = 100 * 1024
    const result = await node.remote.fetch(provider.addr(), hash, { range: { offset, length } })
    assert.equal(result.complete, true)
    // Groups 640..647 cover the range: 8 groups of 16 KiB, the size header, and the pairs on the
    // path (about 10 above the groups, up to 16 per group inside partly covered ones).
    const firstGroup = Math.floor(offset / 16384)
    const lastGroup = Math.floor((offset + length - 1) / 16384)
    const dataBytes = (lastGroup - firstGroup + 1) * 16384
    assert.ok(result.bytesRead >= length && result.bytesRead <= dataBytes + 8 + 64 * 40, `read ${result.bytesRead} bytes for a ${length}-byte range`)
    const bitfield = await node.blobs.bitfield(hash)
    assert.ok(bitfield.ranges.containsRange(Math.floor(offset / 1024), Math.ceil((offset + length) / 1024)))
    assert.ok(!bitfield.ranges.intersects(0, firstGroup * 16))
    assert.ok(!bitfield.ranges.intersects((lastGroup + 1) * 16, Infinity))
    const bytes = new Uint8Array(length)
    let at = 0
    for await (const piece of node.blobs.reader(hash, { offset, length })) { bytes.set(piece, at); at += piece.length }
    assert.ok(Buffer.from(bytes).equals(Buffer.from(randomBytes(SIZES[LARGE] as number, LARGE + 1).subarray(offset, offset + length))))
  })

  it('fetches a collection of 50 files, and 50 blobs with one GetMany', async () => {
    const root = fromHex(provider.ready.collection as string)
    const result = await node.remote.fetch(provider.addr(), { hash: root, format: 'hashseq' })
    assert.equal(result.complete, true)
    const entries = await node.blobs.readCollection(root)
    assert.equal(entries.length, 50)
    for (const [i, entry] of entries.entries()) {
      assert.equal(entry.name, `dir/file-${i}.bin`)
      assert.ok(Buffer.from(await node.blobs.getBytes(entry.hash)).equals(Buffer.from(randomBytes(1000 + i * 700, 1000 + i))))
    }

    const other = await createNode()
    try {
      const hashes = provider.ready.files.map(h => fromHex(h))
      const stats = await other.remote.executeGetMany(provider.addr(), hashes)
      assert.equal(stats.bytesWritten, hashes.reduce((n, _h, i) => n + 1000 + i * 700, 0))
      for (const hash of hashes) assert.equal((await other.blobs.status(hash)).status, 'complete')
      // A GetMany with a hole: only entry 3 and entries from 10 on.
      const third = await createNode()
      try {
        const seq = RangeSpecSeq.fromRangesInfinite([ChunkRanges.empty(), ChunkRanges.empty(), ChunkRanges.empty(), ChunkRanges.all(),
          ...Array.from({ length: 6 }, () => ChunkRanges.empty()), ChunkRanges.all()])
        await third.remote.executeGetMany(provider.addr(), hashes, seq)
        const statuses = await Promise.all(hashes.map(async h => (await third.blobs.status(h)).status))
        assert.deepEqual(statuses.map((s, i) => [i, s]).filter(([, s]) => s === 'complete').map(([i]) => i),
          [3, ...Array.from({ length: 40 }, (_v, i) => i + 10)])
      } finally {
        await third.stop()
      }
    } finally {
      await other.stop()
    }
  })

  it('resumes: a fetch aborted half-way, fetched again, transfers only the missing half', async () => {
    const hash = fromHex(provider.ready.blobs[LARGE] as string)
    const size = SIZES[LARGE] as number
    const controller = new AbortController()
    const error = await rejection(() => node.remote.fetch(provider.addr(), hash, {
      signal: controller.signal,
      onProgress: event => { if (event.type === 'fetch:progress' && event.detail.bytesRead >= size / 2) controller.abort() }
    }))
    assert.equal(error.name, 'AbortError', error.stack)
    const kept = await node.remote.local(hash)
    assert.ok(kept.localBytes >= size / 2 - 5 * 1024 * 1024 && kept.localBytes < size, `kept ${kept.localBytes} of ${size}`)
    const events: FetchProgress[] = []
    const second = await node.remote.fetch(provider.addr(), hash, { onProgress: event => { events.push(event) } })
    assert.equal(second.complete, true)
    // Typed events with totals: what is here of the whole blob, then bytes read of what was missing.
    assert.deepEqual(events[0], { type: 'fetch:local', detail: { localBytes: kept.localBytes, total: size, missing: events[0]?.type === 'fetch:local' ? events[0].detail.missing : undefined } })
    assert.ok(events[0]?.type === 'fetch:local' && events[0].detail.missing !== undefined)
    const reads = events.slice(1)
    assert.ok(reads.length > 0 && reads.every(e => e.type === 'fetch:progress' && e.detail.total === size - kept.localBytes), JSON.stringify(reads.slice(0, 3)))
    const last = reads[reads.length - 1]
    assert.equal(last?.type === 'fetch:progress' ? last.detail.bytesRead : -1, second.bytesRead, 'the last event counts every byte read')
    assert.equal(second.localBytes, kept.localBytes)
    assert.equal(second.bytesWritten, size - kept.localBytes)
    // The second transfer is the missing bytes plus the size header and pairs on their paths.
    const missing = size - kept.localBytes
    assert.ok(second.bytesRead >= missing && second.bytesRead <= missing + 8 + 64 * 1300, `read ${second.bytesRead} for ${missing} missing`)
    assert.equal(blake3(await node.blobs.getBytes(hash)).join(), hash.join())
  })

  it('answers a missing blob with NotFound, by name', async () => {
    const error = await rejection(() => node.remote.fetch(provider.addr(), new Uint8Array(32).fill(7)))
    assert.equal(error.name, 'NotFound', error.stack)
  })
})
