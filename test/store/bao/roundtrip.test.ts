import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ByteReader } from '../../../store/bao/byte-reader.js'
import { CHUNK_SIZE, PAIR_SIZE, SIZE_HEADER } from '../../../store/bao/constants.js'
import { decodeRanges } from '../../../store/bao/decode.js'
import { encodeRanges } from '../../../store/bao/encode.js'
import type { Blake3Core } from '../../../store/bao/interface.js'
import { computeOutboard } from '../../../store/bao/outboard.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { collect, concat, flip, randomBytes, sliced } from '../../helpers.js'
import { allCores } from './cores.js'

interface Leaf { offset: number, data: Uint8Array, encodedEnd: number }
interface Outcome { leaves: Leaf[], error: Error | undefined }

/** Decode, recording where in the encoded stream each verified leaf ended. */
async function decodeAll (core: Blake3Core, hash: Uint8Array, ranges: ChunkRanges, encoded: Uint8Array, cuts: number[]): Promise<Outcome> {
  const reader = new ByteReader(sliced(encoded, cuts))
  const leaves: Leaf[] = []
  try {
    // Where each item ends in the stream, from the sizes of the items before it (the decoder may
    // have read a batch ahead of the item it hands out).
    let position = 0
    for await (const item of decodeRanges(hash, ranges, reader, { core })) {
      position += item.type === 'size' ? SIZE_HEADER : item.type === 'leaf' ? item.data.length : PAIR_SIZE
      if (item.type === 'leaf') leaves.push({ offset: item.offset, data: item.data.slice(), encodedEnd: position })
    }
    if (!(await reader.atEnd())) throw new Error('decoder left bytes unread')
    return { leaves, error: undefined }
  } catch (error) {
    return { leaves, error: error as Error }
  }
}

/** The byte spans a query selects from a blob of `size` bytes. */
function expectedSpans (ranges: ChunkRanges, size: number): Array<[number, number]> {
  const chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE))
  const spans: Array<[number, number]> = []
  for (const [s, e] of ranges.canonicalize(size).ranges()) {
    spans.push([s * CHUNK_SIZE, Math.min(Math.min(e, chunks) * CHUNK_SIZE, size)])
  }
  return spans
}

/** Merge adjacent leaves into spans. */
function spansOf (leaves: Leaf[]): Array<[number, number]> {
  const spans: Array<[number, number]> = []
  for (const leaf of leaves) {
    const last = spans[spans.length - 1]
    if (last !== undefined && last[1] === leaf.offset) last[1] += leaf.data.length
    else spans.push([leaf.offset, leaf.offset + leaf.data.length])
  }
  return spans
}

function assertVerified (leaves: Leaf[], data: Uint8Array): void {
  for (const leaf of leaves) {
    assert.deepEqual(leaf.data, data.subarray(leaf.offset, leaf.offset + leaf.data.length), `leaf at ${leaf.offset}`)
  }
}

const arbSize = fc.oneof(fc.integer({ min: 0, max: 3 * CHUNK_SIZE }), fc.integer({ min: 0, max: 300 * 1024 }))
/** A blob size and a query over its chunks, reaching a little past the end. */
const arbCase = arbSize.chain(size => {
  const limit = Math.ceil(size / CHUNK_SIZE) + 3
  const part = fc.tuple(fc.nat(limit), fc.nat(limit), fc.boolean())
  return fc.record({
    size: fc.constant(size),
    seed: fc.nat(1000),
    parts: fc.array(part, { minLength: 1, maxLength: 3 }),
    cuts: fc.array(fc.nat(400 * 1024), { maxLength: 4 })
  })
})
type Case = { size: number, seed: number, parts: Array<[number, number, boolean]>, cuts: number[] }

function rangesOf (parts: Array<[number, number, boolean]>): ChunkRanges {
  return parts.reduce((acc, [a, b, open]) =>
    acc.union(open ? ChunkRanges.from(Math.min(a, b)) : ChunkRanges.range(Math.min(a, b), Math.max(a, b) + 1)), ChunkRanges.empty())
}

async function setup (core: Blake3Core, c: Case): Promise<{ data: Uint8Array, hash: Uint8Array, ranges: ChunkRanges, encoded: Uint8Array }> {
  const data = randomBytes(c.size, c.seed + 1)
  const { hash, outboard } = computeOutboard(data, { core })
  const ranges = rangesOf(c.parts)
  const encoded = concat(await collect(encodeRanges({ hash, size: c.size, data, outboard, ranges, core })))
  return { data, hash, ranges, encoded }
}

/** Regression cases (failing seeds and edges) run before the random ones. */
const examples: Array<[Case]> = [
  [{ size: 0, seed: 0, parts: [[0, 0, true]], cuts: [] }],
  [{ size: 16384, seed: 1, parts: [[3, 5, false]], cuts: [8, 9] }],
  [{ size: 100 * 1024, seed: 2, parts: [[99, 99, false], [200, 300, false]], cuts: [] }],
  [{ size: 16385, seed: 3, parts: [[16, 16, true]], cuts: [72] }]
]
const runs = { numRuns: 120, examples }

for (const core of allCores()) {
  describe(`verified range streams, properties (${core.name} core)`, function () {
    this.timeout(120000)

    it('decode(encode(x)) yields exactly the requested bytes, however the stream is sliced', async () => {
      await fc.assert(fc.asyncProperty(arbCase, async c => {
        const { data, hash, ranges, encoded } = await setup(core, c)
        const { leaves, error } = await decodeAll(core, hash, ranges, encoded, c.cuts)
        assert.equal(error, undefined)
        assertVerified(leaves, data)
        assert.deepEqual(spansOf(leaves), expectedSpans(ranges, c.size))
      }), runs)
    })

    it('a flipped bit in any pair or leaf fails decoding before any byte of its group is yielded', async () => {
      await fc.assert(fc.asyncProperty(arbCase, fc.nat(), fc.nat(7), async (c, where, bit) => {
        const { data, hash, ranges, encoded } = await setup(core, c)
        fc.pre(encoded.length > 8)
        const position = 8 + (where % (encoded.length - 8))
        const tampered = encoded.slice()
        flip(tampered, position, 1 << bit)
        const { leaves, error } = await decodeAll(core, hash, ranges, tampered, c.cuts)
        assert.ok(error !== undefined, `flip at ${position} was not detected`)
        assert.match(error.name, /^(ParentHashMismatch|LeafHashMismatch)$/)
        assertVerified(leaves, data)
        for (const leaf of leaves) assert.ok(leaf.encodedEnd <= position, `leaf ending at ${leaf.encodedEnd} holds the flip at ${position}`)
      }), { numRuns: runs.numRuns, examples: examples.map(([c]) => [c, 70000, 3] as [Case, number, number]) })
    })

    it('a flipped bit in the size header fails or yields exactly the same verified bytes', async () => {
      await fc.assert(fc.asyncProperty(arbCase, fc.nat(63), async (c, bit) => {
        const { data, hash, ranges, encoded } = await setup(core, c)
        const good = await decodeAll(core, hash, ranges, encoded, c.cuts)
        const tampered = encoded.slice()
        flip(tampered, bit >> 3, 1 << (bit & 7))
        const { leaves, error } = await decodeAll(core, hash, ranges, tampered, c.cuts)
        assertVerified(leaves, data)
        if (error === undefined) {
          assert.deepEqual(leaves.map(l => [l.offset, l.data.length]), good.leaves.map(l => [l.offset, l.data.length]))
        } else {
          assert.match(error.name, /^(ParentHashMismatch|LeafHashMismatch|UnexpectedEnd|InvalidSize|TrailingData)$/)
        }
      }), { numRuns: runs.numRuns, examples: examples.map(([c]) => [c, 13] as [Case, number]) })
    })

    it('a truncated stream fails with UnexpectedEnd after yielding only verified data', async () => {
      await fc.assert(fc.asyncProperty(arbCase, fc.nat(), async (c, where) => {
        const { data, hash, ranges, encoded } = await setup(core, c)
        const cut = where % encoded.length
        const { leaves, error } = await decodeAll(core, hash, ranges, encoded.subarray(0, cut), c.cuts)
        assert.equal(error?.name, 'UnexpectedEnd')
        assertVerified(leaves, data)
        for (const leaf of leaves) assert.ok(leaf.encodedEnd <= cut)
      }), { numRuns: runs.numRuns, examples: examples.map(([c]) => [c, 16400] as [Case, number]) })
    })

    it('fails on the wrong hash, on garbage and on trailing bytes, with named errors', async () => {
      const data = randomBytes(50000, 9)
      const { hash, outboard } = computeOutboard(data, { core })
      const encoded = concat(await collect(encodeRanges({ hash, size: data.length, data, outboard, ranges: ChunkRanges.all(), core })))
      const wrong = hash.slice()
      flip(wrong, 0)
      const first = await decodeAll(core, wrong, ChunkRanges.all(), encoded, [])
      assert.equal(first.error?.name, 'ParentHashMismatch')
      assert.equal(first.leaves.length, 0)
      for (let seed = 1; seed <= 50; seed++) {
        const garbage = randomBytes(seed * 997, seed)
        const { leaves, error } = await decodeAll(core, hash, ChunkRanges.all(), garbage, [])
        assert.ok(error !== undefined)
        assert.match(error.name, /^(ParentHashMismatch|LeafHashMismatch|UnexpectedEnd|InvalidSize)$/)
        assert.equal(leaves.length, 0)
      }
      await assert.rejects(collect(decodeRanges(hash, ChunkRanges.all(), [encoded, new Uint8Array(1)], { core })), { name: 'TrailingData' })
      await assert.rejects(collect(decodeRanges(new Uint8Array(31), ChunkRanges.all(), [encoded])), RangeError)
      await assert.rejects(collect(decodeRanges('x' as unknown as Uint8Array, ChunkRanges.all(), [encoded])), TypeError)
      const huge = encoded.slice(0, 8)
      huge.fill(0xff)
      await assert.rejects(collect(decodeRanges(hash, ChunkRanges.all(), [huge])), { name: 'InvalidSize' })
    })
  })
}
