import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PortableCore } from '../../../store/bao/portable-core.js'
import { WasmCore } from '../../../store/bao/wasm-core.js'
import { randomBytes, toHex } from '../../helpers.js'
import { arbCounter } from './cores.js'

const portable = new PortableCore()
const wasm = WasmCore.create()

describe('WASM SIMD kernel against the portable core', () => {
  it('agrees on random groups and subtrees at random chunk counters, above 2^32 included', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 40 * 1024 }), arbCounter, fc.boolean(), fc.nat(1000), (length, counter, isRoot, seed) => {
      const data = randomBytes(length, seed + 1)
      assert.equal(toHex(wasm.subtreeCV(data, counter, isRoot)), toHex(portable.subtreeCV(data, counter, isRoot)), `length ${length} counter ${counter}`)
    }), { numRuns: 300, examples: [[16384, 2 ** 32 - 2, false, 1], [4096, 2 ** 32 - 1, false, 2], [1024, 2 ** 32, true, 3]] })
  })

  it('agrees on groupCVs for every group log, whole and short last groups', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 200 * 1024 }), arbCounter, (groupLog, length, counter) => {
      const start = counter - (counter % 2 ** groupLog)
      const data = randomBytes(length, length + groupLog)
      const groups = Math.max(1, Math.ceil(length / (1024 << groupLog)))
      const a = new Uint8Array(groups * 32)
      const b = new Uint8Array(groups * 32)
      wasm.groupCVs(data, start, groupLog, a)
      portable.groupCVs(data, start, groupLog, b)
      assert.equal(toHex(a), toHex(b), `groupLog ${groupLog} length ${length} start ${start}`)
    }), { numRuns: 150 })
  })

  it('agrees on groupTree: pairs in pre-order and in-order, and the subtree value', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 6 }), fc.nat(6), arbCounter, fc.boolean(), (groupLog, k, counter, inOrder) => {
      const groups = 2 ** Math.min(k, 10 - groupLog)
      const start = counter - (counter % (groups * 2 ** groupLog))
      const data = randomBytes(groups * (1024 << groupLog), groupLog * 10 + k)
      const a = new Uint8Array((groups - 1) * 64)
      const b = new Uint8Array((groups - 1) * 64)
      const cvA = wasm.groupTree(data, start, groupLog, a, inOrder)
      const cvB = portable.groupTree(data, start, groupLog, b, inOrder)
      assert.equal(toHex(cvA), toHex(cvB))
      assert.equal(toHex(cvA), toHex(portable.subtreeCV(data, start, false)))
      assert.equal(toHex(a), toHex(b), `groupLog ${groupLog} groups ${groups} inOrder ${inOrder}`)
    }), { numRuns: 60 })
    assert.throws(() => wasm.groupTree(new Uint8Array(3 * 16384), 0, 4, new Uint8Array(128), false), RangeError)
  })

  it('agrees on parents, root and non-root', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const pair = randomBytes(64, seed)
      for (const isRoot of [false, true]) assert.deepEqual(wasm.parentCV(pair, isRoot), portable.parentCV(pair, isRoot))
    }
    assert.throws(() => wasm.parentCV(new Uint8Array(63), false), RangeError)
  })

  it('hashes inputs larger than its 1 MiB window, at any length around the splits', () => {
    for (const length of [(1 << 20) - 1, 1 << 20, (1 << 20) + 1, (2 << 20) + 1024, (3 << 20) + 5]) {
      const data = randomBytes(length, length)
      assert.equal(toHex(wasm.subtreeCV(data, 0, true)), toHex(portable.subtreeCV(data, 0, true)), `length ${length}`)
    }
  })

  it('hashes groups in buffers it lent where they are, the same as copied in; lends to one borrower at a time', () => {
    const core = WasmCore.create()
    const lent = core.borrowInput(8, 1 << 20)
    assert.ok(lent !== undefined)
    assert.equal(core.borrowInput(1, 1 << 20), undefined, 'lent already')
    assert.equal(lent.buffers.length, 8)
    for (const [i, buffer] of lent.buffers.entries()) {
      const data = randomBytes(1 << 20, 70 + i)
      buffer.set(data)
      for (const view of [buffer, buffer.subarray(16384 * i, 16384 * (i + 2))]) {
        const copy = view.slice()
        const pairsA = new Uint8Array(view.length / 16384 * 64 - 64)
        const pairsB = new Uint8Array(pairsA.length)
        assert.equal(toHex(core.groupTree(view, 64 * i, 4, pairsA, false)), toHex(portable.groupTree(copy, 64 * i, 4, pairsB, false)))
        assert.equal(toHex(pairsA), toHex(pairsB))
        assert.deepEqual(view, copy, 'the lent bytes are left as they were')
      }
    }
    lent.release()
    lent.release()
    const again = core.borrowInput(2, 1 << 20)
    assert.ok(again !== undefined, 'given back')
    assert.equal(core.borrowInput(1, 1), undefined)
    again.release()
    assert.equal(core.borrowInput(9, 1 << 20), undefined, 'more than it has')
  })
})
