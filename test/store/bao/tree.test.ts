import assert from 'node:assert/strict'
import { InvalidSize } from '../../../store/bao/errors.js'
import { BaoTree } from '../../../store/bao/tree.js'

describe('BaoTree geometry', () => {
  it('counts blocks, chunks and outboard bytes', () => {
    const t = new BaoTree(100 * 1024)
    assert.equal(t.blocks, 7)
    assert.equal(t.chunks, 100)
    assert.equal(t.outboardSize, 6 * 64)
    assert.equal(new BaoTree(0).blocks, 1)
    assert.equal(new BaoTree(0).chunks, 1)
    assert.equal(new BaoTree(0).outboardSize, 0)
    assert.equal(new BaoTree(16384).blocks, 1)
    assert.equal(new BaoTree(16385).blocks, 2)
    assert.equal(new BaoTree(1025, 0).blocks, 2)
  })

  it('numbers nodes in order and skips parents whose right half is missing', () => {
    const t = new BaoTree(100 * 1024) // 7 blocks: leaves 0, 2, ..., 12
    assert.equal(t.root, 7)
    assert.equal(t.leftChild(7), 3)
    assert.equal(t.rightChild(7), 11)
    // Node 13 would cover blocks 6..8 but block 7 does not exist: block 6 (leaf 12) hangs under 11.
    assert.equal(t.isPersisted(13), false)
    assert.equal(t.rightChild(11), 12)
    assert.deepEqual([...t.preOrderParents()], [7, 3, 1, 5, 11, 9])
    assert.deepEqual([...t.postOrderParents()], [1, 5, 3, 9, 11, 7])
    assert.deepEqual(t.blockRange(11), [4, 7])
    assert.deepEqual(t.byteRange(11), [4 * 16384, 100 * 1024])
  })

  it('gives every persisted parent its pre-order index, for group logs 0 to 4', () => {
    for (const groupLog of [0, 1, 4]) {
      for (let blocks = 1; blocks <= 70; blocks++) {
        const size = blocks * (1024 << groupLog) - 3
        const t = new BaoTree(Math.max(0, size), groupLog)
        const order = [...t.preOrderParents()]
        assert.equal(order.length, t.blocks - 1, `blocks ${blocks}`)
        order.forEach((node, i) => assert.equal(t.preOrderIndex(node), i, `node ${node} of ${blocks} blocks`))
        // Persisted parents are exactly the odd numbers below 2 * blocks - 1.
        assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: t.blocks - 1 }, (_, i) => 2 * i + 1))
        assert.equal(new Set(t.postOrderParents()).size, t.blocks - 1)
      }
    }
  })

  it('refuses sizes it cannot represent', () => {
    assert.throws(() => new BaoTree(-1), { name: 'InvalidSize' })
    assert.throws(() => new BaoTree(2 ** 53), InvalidSize)
    assert.throws(() => new BaoTree(1.5), { name: 'InvalidSize' })
    assert.throws(() => new BaoTree(10, 21), RangeError)
    assert.throws(() => new BaoTree(100 * 1024).preOrderIndex(13), RangeError)
    assert.throws(() => new BaoTree(100 * 1024).leftChild(4), RangeError)
  })
})
