import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PostcardWriter } from '../../../store/codec/postcard.js'
import { atMost, readVarint, VarintDecoder } from '../../../store/codec/varint.js'

describe('the one varint reader', () => {
  it('reads what PostcardWriter writes, whole or a byte at a time, for every u64 (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 5 }), (value, offset) => {
      const encoded = new PostcardWriter().bytes(new Uint8Array(offset)).varint(value).finish()
      const read = readVarint(encoded, offset)
      assert.deepEqual(read, { value, next: encoded.length })
      const decoder = new VarintDecoder()
      let got: bigint | undefined
      for (const byte of encoded.subarray(offset)) {
        assert.equal(got, undefined, 'nothing before the last byte')
        got = decoder.push(byte)
      }
      assert.equal(got, value)
      assert.equal(decoder.inside, false)
    }), { seed: 20261129 })
  })

  it('tells "ended inside" (more bytes needed) from malformed', () => {
    assert.equal(readVarint(Uint8Array.from([0x80, 0x80]), 0), undefined)
    const decoder = new VarintDecoder('frame length', 4)
    assert.equal(decoder.push(0xff), undefined)
    assert.equal(decoder.inside, true)
    assert.throws(() => { for (let i = 0; i < 3; i++) decoder.push(0xff) }, { name: 'MalformedMessage', message: 'frame length longer than 4 bytes' })
    assert.throws(() => readVarint(Uint8Array.from([...new Array<number>(9).fill(0xff), 0x7f]), 0), { name: 'MalformedMessage', message: 'varint overflows u64' })
    assert.throws(() => readVarint(Uint8Array.from(new Array<number>(11).fill(0x80)), 0), { name: 'MalformedMessage' })
    assert.equal(atMost(5n, 5), 5)
    assert.throws(() => atMost(6n, 5, 'count'), { name: 'MalformedMessage', message: 'count 6 is above the limit 5' })
  })
})
