import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ChunkRanges, MAX_CHUNK } from '../../../store/ranges/chunk-ranges.js'

/** A model: the set of chunks below LIMIT, plus whether everything from LIMIT on is included. */
const LIMIT = 64
function model (r: ChunkRanges): boolean[] {
  return Array.from({ length: LIMIT + 1 }, (_, i) => r.contains(i))
}
const arbRanges = fc.array(fc.tuple(fc.nat(LIMIT), fc.nat(LIMIT), fc.boolean()), { maxLength: 5 }).map(parts =>
  parts.reduce((acc, [a, b, open]) => acc.union(open ? ChunkRanges.from(Math.min(a, b)) : ChunkRanges.range(Math.min(a, b), Math.max(a, b))), ChunkRanges.empty()))

describe('ChunkRanges', () => {
  it('builds the basic sets', () => {
    assert.deepEqual(ChunkRanges.empty().boundaries, [])
    assert.deepEqual(ChunkRanges.all().boundaries, [0])
    assert.deepEqual(ChunkRanges.from(64).boundaries, [64])
    assert.deepEqual(ChunkRanges.to(64).boundaries, [0, 64])
    assert.deepEqual(ChunkRanges.range(5, 5).boundaries, [])
    assert.deepEqual(ChunkRanges.lastChunk().boundaries, [MAX_CHUNK])
    assert.ok(ChunkRanges.all().isAll())
    assert.ok(ChunkRanges.empty().isEmpty())
  })

  it('maps byte ranges to the chunks covering them', () => {
    assert.deepEqual(ChunkRanges.fromByteRange(0, 1).boundaries, [0, 1])
    assert.deepEqual(ChunkRanges.fromByteRange(1023, 1025).boundaries, [0, 2])
    assert.deepEqual(ChunkRanges.fromByteRange(1024, 2048).boundaries, [1, 2])
    assert.deepEqual(ChunkRanges.fromByteRange(5000, 5000).boundaries, [])
  })

  it('union, intersection, difference and xor agree with a set model', () => {
    fc.assert(fc.property(arbRanges, arbRanges, (a, b) => {
      const ma = model(a)
      const mb = model(b)
      assert.deepEqual(model(a.union(b)), ma.map((x, i) => x || mb[i]))
      assert.deepEqual(model(a.intersection(b)), ma.map((x, i) => x && mb[i]))
      assert.deepEqual(model(a.difference(b)), ma.map((x, i) => x && !mb[i]))
      assert.deepEqual(model(a.xor(b)), ma.map((x, i) => x !== mb[i]))
      // Normalised: boundaries strictly increase, so equal sets have equal boundaries.
      for (const r of [a.union(b), a.intersection(b), a.difference(b)]) {
        r.boundaries.forEach((v, i) => i === 0 || assert.ok(v > (r.boundaries[i - 1] as number)))
      }
      assert.equal(a.union(b).equals(b.union(a)), true)
    }), { seed: 20261122, numRuns: 300 })
  })

  it('answers contains, containsRange and intersects like the model', () => {
    fc.assert(fc.property(arbRanges, fc.nat(LIMIT), fc.nat(LIMIT), (r, x, y) => {
      const [s, e] = [Math.min(x, y), Math.max(x, y)]
      const m = model(r)
      const inside = m.slice(s, e)
      assert.equal(r.containsRange(s, e), inside.every(Boolean))
      assert.equal(r.intersects(s, e), inside.some(Boolean))
    }), { seed: 20261122, numRuns: 300 })
  })

  it('canonicalises at the blob end: past the end means the last chunk', () => {
    const size = 31 * 1024
    const c = (r: ChunkRanges): string => r.canonicalize(size).toString()
    assert.equal(c(ChunkRanges.to(31)), '{0..}')
    assert.equal(c(ChunkRanges.to(30)), '{0..30}')
    assert.equal(c(ChunkRanges.from(99)), '{30..}')
    assert.equal(c(ChunkRanges.to(30).union(ChunkRanges.from(1000))), '{0..}')
    assert.equal(c(ChunkRanges.to(29).union(ChunkRanges.from(1000))), '{0..29, 30..}')
    assert.equal(c(ChunkRanges.lastChunk()), '{30..}')
    assert.equal(ChunkRanges.lastChunk().canonicalize(0).toString(), '{0..}')
    assert.equal(ChunkRanges.empty().canonicalize(size).toString(), '{}')
    assert.equal(ChunkRanges.chunk(3).canonicalize(1).toString(), '{0..}')
  })

  it('rejects bad arguments with named errors', () => {
    assert.throws(() => ChunkRanges.range(-1, 3), RangeError)
    assert.throws(() => ChunkRanges.from(1.5), RangeError)
    assert.throws(() => ChunkRanges.from('3' as unknown as number), TypeError)
    assert.throws(() => ChunkRanges.fromBoundaries([5, 3]), RangeError)
    assert.throws(() => ChunkRanges.fromByteRange(0, Number.NaN), RangeError)
    assert.deepEqual(ChunkRanges.fromBoundaries([1, 1, 4]).boundaries, [4])
  })
})
