import assert from 'node:assert/strict'
import { CHUNK_SIZE, GROUP_SIZE } from '../../../store/bao/constants.js'
import { decodeRanges } from '../../../store/bao/decode.js'
import { encodeRanges } from '../../../store/bao/encode.js'
import { blake3 } from '../../../store/bao/hash.js'
import { OutboardBuilder, computeOutboard } from '../../../store/bao/outboard.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { collect, concat, flip, randomBytes, rejection, sliced } from '../../helpers.js'
import { allCores } from './cores.js'
import { referenceEncode, referenceOutboard } from './reference.js'

for (const core of allCores()) {
  describe(`outboard and encoding layout (${core.name} core)`, () => {
    const data = randomBytes(100 * 1024, 100)
    const g = (i: number): Uint8Array => data.subarray(i * GROUP_SIZE, (i + 1) * GROUP_SIZE)
    /** Non-root value of groups i..j (inclusive), hashed straight from the data. */
    const cv = (i: number, j: number): Uint8Array =>
      core.subtreeCV(data.subarray(i * GROUP_SIZE, Math.min((j + 1) * GROUP_SIZE, data.length)), i * 16, false)
    const pair = (a: Uint8Array, b: Uint8Array): Uint8Array => concat([a, b])

    it('lays out the 100 KiB worked example of PROTOCOL.md: 6 pre-order entries', () => {
      const { hash, outboard } = computeOutboard(data, { core })
      assert.deepEqual(hash, blake3(data, core))
      const expected = [
        pair(cv(0, 3), cv(4, 6)), // p(g0..g6)
        pair(cv(0, 1), cv(2, 3)), // p(g0..g3)
        pair(cv(0, 0), cv(1, 1)), // p(g0,g1)
        pair(cv(2, 2), cv(3, 3)), // p(g2,g3)
        pair(cv(4, 5), cv(6, 6)), // p(g4..g6): g6 hangs directly under it
        pair(cv(4, 4), cv(5, 5)) // p(g4,g5)
      ]
      assert.equal(outboard.length, 384)
      assert.deepEqual(outboard, concat(expected))
    })

    it('encodes the whole 100 KiB blob as size, pairs and groups in pre-order', async () => {
      const { hash, outboard } = computeOutboard(data, { core })
      const o = (i: number): Uint8Array => outboard.subarray(i * 64, (i + 1) * 64)
      const size = new Uint8Array([0x00, 0x90, 0x01, 0, 0, 0, 0, 0]) // 102400 little-endian
      const expected = concat([size, o(0), o(1), o(2), g(0), g(1), o(3), g(2), g(3), o(4), o(5), g(4), g(5), g(6)])
      assert.equal(expected.length, 8 + 6 * 64 + 102400)
      const encoded = concat(await collect(encodeRanges({ hash, size: data.length, data, outboard, ranges: ChunkRanges.all(), core })))
      assert.deepEqual(encoded, expected)
    })

    it('builds the same outboard streaming, with or without the size, at any split point', () => {
      const blob = randomBytes(3 * GROUP_SIZE + 5, 5)
      const expected = computeOutboard(blob, { core })
      assert.deepEqual(expected.outboard, referenceOutboard(core, blob, 4))
      const cuts: number[] = []
      for (let cut = 0; cut <= blob.length; cut += 257) cuts.push(cut)
      for (const boundary of [1, 2, 3]) cuts.push(boundary * GROUP_SIZE - 1, boundary * GROUP_SIZE, boundary * GROUP_SIZE + 1)
      for (const cut of cuts) {
        for (const size of [undefined, blob.length]) {
          const builder = new OutboardBuilder({ core, ...(size === undefined ? {} : { size }) })
          builder.update(blob.subarray(0, cut))
          builder.update(blob.subarray(cut))
          const result = builder.finish()
          assert.deepEqual(result.hash, expected.hash, `cut ${cut}`)
          assert.deepEqual(result.outboard, expected.outboard, `cut ${cut}, size ${size}`)
        }
      }
    })

    it('builds the outboard of a multi-MiB blob in large batches, with or without the size', () => {
      const blob = randomBytes(5 * 1024 * 1024 / 2 + 3, 11)
      const expected = referenceOutboard(core, blob, 4)
      for (const size of [undefined, blob.length]) {
        for (const slice of [blob.length, (1 << 20) + 17, 64 * 1024, 100000]) {
          const builder = new OutboardBuilder({ core, ...(size === undefined ? {} : { size }) })
          for (let offset = 0; offset < blob.length; offset += slice) builder.update(blob.subarray(offset, offset + slice))
          const result = builder.finish()
          assert.deepEqual(result.hash, blake3(blob, core))
          assert.ok(Buffer.from(result.outboard).equals(Buffer.from(expected)), `size ${size} slices of ${slice}`)
        }
      }
    })

    it('updateAsync builds the same outboard, calls overlapping, at any slicing, with or without the size', async () => {
      const blob = randomBytes(3 * 1024 * 1024 + 5 * GROUP_SIZE + 77, 12)
      const expected = referenceOutboard(core, blob, 4)
      for (const size of [undefined, blob.length]) {
        for (const slices of [[1 << 20], [(1 << 20) + 17, 64 * 1024], [blob.length], [GROUP_SIZE, 100000, 3 << 20], [blob.length - 1, 1]]) {
          for (const inFlight of [3, 1]) {
            const builder = new OutboardBuilder({ core, ...(size === undefined ? {} : { size }) })
            const calls: Array<Promise<void>> = []
            for (let offset = 0, i = 0; offset < blob.length; i++) {
              const slice = slices[i % slices.length] as number
              calls.push(builder.updateAsync(blob.subarray(offset, offset + slice)))
              offset += slice
              // Up to three in flight, as an add in place keeps them; or each settled before the next.
              if (calls.length >= inFlight) await calls.shift()
            }
            if (calls.length > 0) assert.throws(() => builder.finish(), /before every updateAsync settled/)
            await Promise.all(calls)
            const result = builder.finish()
            assert.deepEqual(result.hash, blake3(blob, core))
            assert.ok(Buffer.from(result.outboard).equals(Buffer.from(expected)), `size ${size} slices ${slices.join(',')}, ${inFlight} in flight`)
          }
        }
      }
    })

    it('updateAsync: a batch that fails on its thread fails the builder, and no rejection goes unhandled', async () => {
      const job = core.groupTreeAsync?.bind(core)
      if (job === undefined) return // this core hashes at once: nothing runs aside
      let calls = 0
      // The second batch fails while the first and third still hash.
      const failing = Object.assign(Object.create(core) as typeof core, {
        groupTreeAsync: async (...args: Parameters<typeof job>) => {
          if (++calls === 2) throw new Error('hashGroups: out of memory')
          await new Promise(resolve => setTimeout(resolve, 20))
          return await job(...args)
        }
      })
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
      process.on('unhandledRejection', onUnhandled)
      try {
        const builder = new OutboardBuilder({ core: failing, size: 4 << 20 })
        const first = builder.updateAsync(randomBytes(2 << 20, 3)) // two batches of 1 MiB: the second fails
        const second = builder.updateAsync(randomBytes(1 << 20, 4))
        assert.match((await rejection(async () => { await first })).message, /out of memory/)
        assert.match((await rejection(async () => { await second })).message, /out of memory/)
        assert.match((await rejection(() => builder.finish())).message, /out of memory/)
        await new Promise(resolve => setTimeout(resolve, 50))
        assert.deepEqual(unhandled, [])
      } finally {
        process.off('unhandledRejection', onUnhandled)
      }
    })

    it('updateAsync past the declared size fails the builder: later calls and finish() throw the same', async () => {
      const builder = new OutboardBuilder({ core, size: 2 << 20 })
      const first = builder.updateAsync(randomBytes(1 << 20, 1))
      const tooLong = builder.updateAsync(randomBytes((1 << 20) + 1, 2))
      await first
      const err = await rejection(async () => { await tooLong })
      assert.equal(err.name, 'InvalidSize')
      assert.equal(await rejection(async () => { await builder.updateAsync(new Uint8Array(1)) }), err)
      assert.equal(await rejection(() => builder.finish()), err)
    })

    it('matches a recursive reference for group logs 0 (plain bao), 2 and 4', async () => {
      for (const groupLog of [0, 2, 4]) {
        for (const size of [0, 1, 1024, 1025, 4096, 5000, 16384, 16385, 70000, 200 * 1024 + 3]) {
          const blob = randomBytes(size, size + groupLog)
          const { hash, outboard } = computeOutboard(blob, { core, groupLog })
          assert.deepEqual(hash, blake3(blob, core))
          assert.deepEqual(outboard, referenceOutboard(core, blob, groupLog), `size ${size} groupLog ${groupLog}`)
          for (const ranges of [ChunkRanges.all(), ChunkRanges.range(1, 3), ChunkRanges.lastChunk(), ChunkRanges.range(5, 9).union(ChunkRanges.from(60))]) {
            const encoded = concat(await collect(encodeRanges({ hash, size, data: blob, outboard, ranges, core, groupLog })))
            assert.deepEqual(encoded, referenceEncode(core, blob, ranges, groupLog), `size ${size} groupLog ${groupLog} ranges ${ranges.toString()}`)
            const leaves = (await collect(decodeRanges(hash, ranges, sliced(encoded, [7, 100, 5000]), { core, groupLog })))
              .filter(item => item.type === 'leaf')
            const canonical = ranges.canonicalize(size)
            for (const leaf of leaves) {
              if (leaf.type !== 'leaf') continue
              assert.deepEqual(leaf.data, blob.subarray(leaf.offset, leaf.offset + leaf.data.length))
              assert.ok(canonical.containsRange(leaf.offset / CHUNK_SIZE, Math.ceil((leaf.offset + leaf.data.length) / CHUNK_SIZE)) || size === 0)
            }
          }
        }
      }
    })

    it('refuses data longer or shorter than the declared size', async () => {
      const longer = new OutboardBuilder({ core, size: 10 })
      assert.equal((await rejection(() => longer.update(new Uint8Array(11)))).name, 'InvalidSize')
      const shorter = new OutboardBuilder({ core, size: 10 })
      shorter.update(new Uint8Array(9))
      assert.equal((await rejection(() => shorter.finish())).name, 'InvalidSize')
    })

    it('refuses to send local data or outboard entries that do not match the hash', async () => {
      const { hash, outboard } = computeOutboard(data, { core })
      const badData = data.slice()
      flip(badData, 5 * GROUP_SIZE + 17)
      const sent: Uint8Array[] = []
      const err = await rejection(async () => {
        for await (const part of encodeRanges({ hash, size: data.length, data: badData, outboard, ranges: ChunkRanges.all(), core, bufferSize: 1 })) sent.push(part)
      })
      assert.equal(err.name, 'LeafHashMismatch')
      assert.equal((err as unknown as { local: boolean }).local, true)
      assert.equal((err as unknown as { offset: number }).offset, 5 * GROUP_SIZE)
      // Groups 0..4 went out; nothing of group 5.
      const sentBytes = concat(sent)
      assert.ok(sentBytes.length < 8 + 6 * 64 + 5 * GROUP_SIZE + 1)
      assert.deepEqual(sentBytes.subarray(sentBytes.length - GROUP_SIZE), g(4))

      const badOutboard = outboard.slice()
      flip(badOutboard, 64 * 3 + 40, 0x80) // p(g2,g3), right half
      const err2 = await rejection(() => collect(encodeRanges({ hash, size: data.length, data, outboard: badOutboard, ranges: ChunkRanges.all(), core })))
      assert.equal(err2.name, 'ParentHashMismatch')
      // The same corrupt entry is not even read for a range that does not need it.
      await collect(encodeRanges({ hash, size: data.length, data, outboard: badOutboard, ranges: ChunkRanges.from(64), core }))
    })
  })
}
