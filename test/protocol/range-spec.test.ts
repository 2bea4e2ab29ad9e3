import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { MalformedMessage } from '../../protocol/errors.js'
import {
  RangeSpecSeq, decodeRangeSpec, decodeRangeSpecSeq, encodeRangeSpec, encodeRangeSpecSeq
} from '../../protocol/range-spec.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ')
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/ /g, ''), 'hex'))

describe('RangeSpec and RangeSpecSeq (PROTOCOL.md section 5)', () => {
  const table: Array<[ChunkRanges, string]> = [
    [ChunkRanges.empty(), '00'],
    [ChunkRanges.all(), '01 00'],
    [ChunkRanges.from(64), '01 40'],
    [ChunkRanges.from(10000), '01 90 4e'],
    [ChunkRanges.to(64), '02 00 40'],
    [ChunkRanges.range(1, 3).union(ChunkRanges.range(9, 13)), '04 01 02 06 04'],
    // iroh's last-chunk request: u64::MAX..
    [ChunkRanges.lastChunk(), '01 ff ff ff ff ff ff ff ff ff 01']
  ]

  it('encodes and decodes the RangeSpec table byte for byte', () => {
    for (const [ranges, expected] of table) {
      assert.equal(hex(encodeRangeSpec(ranges)), expected, ranges.toString())
      assert.ok(decodeRangeSpec(bytes(expected)).equals(ranges), expected)
    }
  })

  it('encodes the request sequences of the table', () => {
    assert.equal(hex(encodeRangeSpecSeq(RangeSpecSeq.root())), '02 00 01 00 01 00')
    assert.equal(hex(encodeRangeSpecSeq(RangeSpecSeq.all())), '01 00 01 00')
    const seq = decodeRangeSpecSeq(bytes('02 03 01 07 01 01 00'))
    assert.ok(seq.at(0).isEmpty())
    assert.ok(seq.at(2).isEmpty())
    assert.ok(seq.at(3).equals(ChunkRanges.from(7)))
    assert.ok(seq.at(4).isAll())
    assert.ok(seq.at(1e9).isAll())
    assert.equal(hex(encodeRangeSpecSeq(RangeSpecSeq.fromRangesInfinite([ChunkRanges.empty(), ChunkRanges.empty(), ChunkRanges.empty(), ChunkRanges.from(7), ChunkRanges.all()]))), '02 03 01 07 01 01 00')
  })

  it('builds sequences as iroh does: leading empties and repeats dropped, terminator added', () => {
    const all = ChunkRanges.all()
    const none = ChunkRanges.empty()
    const seq = RangeSpecSeq.fromRanges([none, all, all, none, ChunkRanges.from(3)])
    assert.deepEqual(seq.entries.map(e => [e.offset, e.ranges.toString()]), [[1, '{0..}'], [3, '{}'], [4, '{3..}'], [5, '{}']])
    assert.equal(seq.end(), 5)
    assert.equal(RangeSpecSeq.all().end(), Infinity)
    assert.ok(RangeSpecSeq.fromRanges([]).isEmpty())
    assert.equal(hex(encodeRangeSpecSeq(RangeSpecSeq.empty())), '00')
  })

  it('round-trips random sequences', () => {
    const arbRanges = fc.array(fc.tuple(fc.nat(1 << 20), fc.nat(1 << 20)), { maxLength: 4 })
      .map(parts => parts.reduce((acc, [a, b]) => acc.union(ChunkRanges.range(Math.min(a, b), Math.max(a, b))), ChunkRanges.empty()))
    fc.assert(fc.property(fc.array(arbRanges, { maxLength: 8 }), list => {
      const seq = RangeSpecSeq.fromRanges(list)
      const back = decodeRangeSpecSeq(encodeRangeSpecSeq(seq))
      assert.ok(back.equals(seq))
      list.forEach((r, i) => assert.ok(back.at(i).equals(r), `offset ${i}`))
      assert.ok(back.at(list.length).isEmpty())
    }), { seed: 20261122, numRuns: 200 })
  })

  it('accepts non-canonical sequences: a zero delta replaces the entry before', () => {
    const seq = decodeRangeSpecSeq(bytes('03 00 01 00 00 01 05 02 00'))
    // Entries: (0, all), (0, 5..) replacing it, (2, empty).
    assert.ok(seq.at(0).equals(ChunkRanges.from(5)))
    assert.ok(seq.at(1).equals(ChunkRanges.from(5)))
    assert.ok(seq.at(2).isEmpty())
  })

  it('rejects malformed bytes with MalformedMessage', () => {
    const bad = ['', '01', '02 00', '05 00 01', 'ff ff ff ff ff ff ff ff ff ff 01', '01 80 80 80 80 80 80 80 80 80 80 01', '00 00']
    for (const text of bad) {
      assert.throws(() => decodeRangeSpec(bytes(text)), MalformedMessage, text)
    }
    assert.throws(() => decodeRangeSpecSeq(bytes('01 00 01')), { name: 'MalformedMessage' })
    // Overflow of the running sum past u64.
    assert.throws(() => decodeRangeSpec(bytes('02 ff ff ff ff ff ff ff ff ff 01 01')), { name: 'MalformedMessage' })
  })
})
