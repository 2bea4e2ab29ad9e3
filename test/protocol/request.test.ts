import assert from 'node:assert/strict'
import { MalformedMessage } from '../../store/codec/errors.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { RangeSpecSeq } from '../../protocol/range-spec.js'
import { decodeObserveItem, decodeRequest, encodeObserveItem, encodeRequest, MAX_REQUEST_SIZE, type Request } from '../../protocol/request.js'
import { randomBytes } from '../helpers.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ')
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/ /g, ''), 'hex'))
const h = Uint8Array.from({ length: 32 }, (_, i) => i)
const H = hex(h)

describe('request codecs (PROTOCOL.md section 5)', () => {
  it('encodes the request table byte for byte', () => {
    assert.equal(hex(encodeRequest({ type: 'get', request: { hash: h, ranges: RangeSpecSeq.root() } })), `00 ${H} 02 00 01 00 01 00`)
    assert.equal(hex(encodeRequest({ type: 'get', request: { hash: h, ranges: RangeSpecSeq.all() } })), `00 ${H} 01 00 01 00`)
    assert.equal(hex(encodeRequest({ type: 'observe', hash: h, ranges: ChunkRanges.all() })), `01 ${H} 01 00`)
    const g = hex(encodeRequest({ type: 'get', request: { hash: h, ranges: RangeSpecSeq.root() } })).slice(3)
    assert.equal(hex(encodeRequest({ type: 'push', request: { hash: h, ranges: RangeSpecSeq.root() } })), `08 26 ${g}`)
    const h2 = randomBytes(32, 2)
    assert.equal(hex(encodeRequest({ type: 'getMany', hashes: [h, h2], ranges: RangeSpecSeq.fromRanges([ChunkRanges.all(), ChunkRanges.all()]) })),
      `09 02 ${H} ${hex(h2)} 02 00 01 00 02 00`)
  })

  it('round-trips every request kind and ignores bytes after a complete request', () => {
    const requests: Request[] = [
      { type: 'get', request: { hash: h, ranges: RangeSpecSeq.fromRanges([ChunkRanges.range(3, 9), ChunkRanges.lastChunk()]) } },
      { type: 'observe', hash: h, ranges: ChunkRanges.from(64) },
      { type: 'push', request: { hash: h, ranges: RangeSpecSeq.all() } },
      { type: 'getMany', hashes: [h, randomBytes(32, 3)], ranges: RangeSpecSeq.fromRangesInfinite([ChunkRanges.all()]) }
    ]
    for (const request of requests) {
      const encoded = encodeRequest(request)
      const { request: back, length } = decodeRequest(Uint8Array.from([...encoded, 0xff, 0xee]))
      assert.equal(length, encoded.length)
      assert.deepEqual(encodeRequest(back), encoded)
    }
  })

  it('rejects reserved types, truncation and junk with MalformedMessage', () => {
    for (const type of [2, 3, 4, 5, 6, 7, 10, 255]) {
      assert.throws(() => decodeRequest(bytes(`${type.toString(16).padStart(2, '0')} ${H} 01 00 01 00`)), MalformedMessage)
    }
    const good = encodeRequest({ type: 'get', request: { hash: h, ranges: RangeSpecSeq.root() } })
    for (let cut = 0; cut < good.length; cut++) assert.throws(() => decodeRequest(good.subarray(0, cut)), { name: 'MalformedMessage' }, `cut ${cut}`)
    assert.throws(() => decodeRequest(bytes('09 ff ff ff 0f')), MalformedMessage)
    assert.throws(() => decodeRequest(bytes(`08 05 ${H}`)), MalformedMessage)
    assert.throws(() => encodeRequest({ type: 'getMany', hashes: Array.from({ length: MAX_REQUEST_SIZE / 32 + 1 }, () => h), ranges: RangeSpecSeq.all() }), RangeError)
    assert.throws(() => encodeRequest({ type: 'get', request: { hash: new Uint8Array(31), ranges: RangeSpecSeq.all() } }), RangeError)
  })

  it('encodes Observe messages with absolute boundaries', () => {
    const item = { size: 50000, ranges: ChunkRanges.range(0, 16).union(ChunkRanges.range(32, 48)) }
    const encoded = encodeObserveItem(item)
    // len, size 50000 = d0 86 03, then 04 00 10 20 30
    assert.equal(hex(encoded), '08 d0 86 03 04 00 10 20 30')
    const back = decodeObserveItem(encoded.subarray(1))
    assert.equal(back.size, 50000)
    assert.ok(back.ranges.equals(item.ranges))
    assert.equal(hex(encodeObserveItem({ size: 0, ranges: ChunkRanges.empty() })), '02 00 00')
    assert.equal(hex(encodeObserveItem({ size: 5, ranges: ChunkRanges.all() })), '03 05 01 00')
  })
})
