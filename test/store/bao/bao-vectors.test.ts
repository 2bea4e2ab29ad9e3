import assert from 'node:assert/strict'
import { decodeRanges } from '../../../store/bao/decode.js'
import { encodeRanges } from '../../../store/bao/encode.js'
import { blake3 } from '../../../store/bao/hash.js'
import { computeOutboard } from '../../../store/bao/outboard.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { collect, concat, toHex } from '../../helpers.js'
import { allCores } from './cores.js'

/**
 * Group log 0 is plain bao. Figures from bao's published test vectors (oconnor663/bao,
 * tests/test_vectors.json): the BLAKE3 of the combined encoding (size header, then pre-order
 * pairs and chunks) and of the outboard (bao's outboard = size header + our outboard), for inputs
 * made of a 4-byte little-endian counter starting at 1.
 */
const cases = [
  { size: 1025, encoded: '04a7fc9414f25fbb4529968d4eb32e569691ad3517f45fa736cfddaed99d66f5', outboard: '025f630e00fbdcc023b970c9f1f21016c56c0a34e384e712c66428bf1c7999b9' },
  { size: 2049, encoded: 'd9ea16809c9a8a86481b09799c8a71e58a1f48a9eec2f85a17a61005229c0de8', outboard: 'f2afc0716690e8513d8697e3e75f5c3532d51e0c704416e7fb0bbf7c0abfb57e' },
  { size: 3073, encoded: 'a49213d8e20de518bc871dd2d6e51569279b9f7639dc5f7fa6510c86fb7b8eba', outboard: 'fa89135a2c00ff1a073321ed79fd17b9fdd53c2d2549236cd8d796232a89dc83' },
  { size: 11264, encoded: '1bffa084b6811992e88fd0d57f0091de2fe883c4a54348149b741afeb266f874', outboard: '651f08a23902499142f6a28fadb99a8cba2bc32fbefe5237fd3a9cb5edec70da' },
  { size: 13312, encoded: 'e5ca844ba6ac49fad8f888b63b437d7d25ee15d80a7bc01edac16f78e2a65271', outboard: 'ad01dbb6b7d0fefd1f8e52783d6212856546f382b815a7c370377bc79e0bd41a' }
]

function counterInput (length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 4) * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < out.length / 4; i++) view.setUint32(i * 4, i + 1, true)
  return out.subarray(0, length)
}

for (const core of allCores()) {
  describe(`plain bao compatibility, group log 0 (${core.name} core)`, () => {
    it('encodes and outboards exactly as bao\'s published vectors', async () => {
      for (const c of cases) {
        const data = counterInput(c.size)
        const { hash, outboard } = computeOutboard(data, { core, groupLog: 0 })
        const header = new Uint8Array(8)
        new DataView(header.buffer).setBigUint64(0, BigInt(c.size), true)
        assert.equal(toHex(blake3(concat([header, outboard]), core)), c.outboard, `outboard of ${c.size}`)
        const encoded = concat(await collect(encodeRanges({ hash, size: c.size, data, outboard, ranges: ChunkRanges.all(), groupLog: 0, core })))
        assert.equal(toHex(blake3(encoded, core)), c.encoded, `encoding of ${c.size}`)
        const leaves = await collect(decodeRanges(hash, ChunkRanges.all(), [encoded], { groupLog: 0, core }))
        assert.equal(leaves.filter(item => item.type === 'leaf').length, Math.ceil(c.size / 1024))
      }
    })
  })
}
