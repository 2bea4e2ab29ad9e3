import assert from 'node:assert/strict'
import { createBLAKE3 } from 'hash-wasm'
import { CHUNK_SIZE } from '../../../store/bao/constants.js'
import { blake3 } from '../../../store/bao/hash.js'
import { OutboardBuilder, computeOutboard } from '../../../store/bao/outboard.js'
import { loadVectors, pattern, randomBytes, toHex } from '../../helpers.js'
import { allCores } from './cores.js'

const vectors = loadVectors()
const crossCheckSizes = [
  0, 1, 1023, 1024, 1025, 16383, 16384, 16385, 32767, 32768, 32769, 100 * 1024, 1024 * 1024 + 1,
  // 8 random sizes up to 4 MiB, fixed so a failure reproduces
  ...Array.from(randomBytes(8 * 3, 7).reduce<number[]>((sizes, byte, i, all) => {
    if (i % 3 === 2) sizes.push((((all[i - 2] as number) << 16) | ((all[i - 1] as number) << 8) | byte) % (4 * 1024 * 1024))
    return sizes
  }, []))
]

for (const core of allCores()) {
  describe(`BLAKE3 hashing (${core.name} core)`, () => {
    it('matches every official vector', () => {
      assert.ok(vectors.cases.length >= 30)
      for (const { input_len: length, hash } of vectors.cases) {
        assert.equal(toHex(blake3(pattern(length), core)), hash.slice(0, 64), `input_len ${length}`)
      }
    })

    it('matches every official vector through the streaming tree hasher', () => {
      for (const { input_len: length, hash } of vectors.cases) {
        const data = pattern(length)
        for (const size of [undefined, length]) {
          const builder = new OutboardBuilder({ core, ...(size === undefined ? {} : { size }) })
          // Feed in uneven slices so the partial-block and fast paths both run.
          for (let offset = 0; offset < length; offset += 1000) builder.update(data.subarray(offset, offset + 1000))
          assert.equal(toHex(builder.finish().hash), hash.slice(0, 64), `input_len ${length}`)
        }
      }
    })

    it('matches hash-wasm (an independent implementation) on random inputs', async () => {
      const reference = await createBLAKE3()
      assert.equal(crossCheckSizes.length, 21)
      for (const [i, size] of crossCheckSizes.entries()) {
        const data = randomBytes(size, i + 1)
        reference.init()
        reference.update(data)
        const expected = reference.digest('hex')
        assert.equal(toHex(blake3(data, core)), expected, `size ${size}`)
        assert.equal(toHex(computeOutboard(data, { core }).hash), expected, `size ${size} via outboard`)
      }
    })

    it('computes chunk values at any counter like BLAKE3 does inside a larger input', () => {
      // The CV of chunk i of a 4-chunk input, merged by hand, equals the plain hash.
      const data = randomBytes(4 * CHUNK_SIZE, 99)
      const cv = (i: number): Uint8Array => core.subtreeCV(data.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE), i, false)
      const pair = (a: Uint8Array, b: Uint8Array): Uint8Array => Uint8Array.from([...a, ...b])
      const left = core.parentCV(pair(cv(0), cv(1)), false)
      const right = core.parentCV(pair(cv(2), cv(3)), false)
      assert.deepEqual(core.parentCV(pair(left, right), true), blake3(data, core))
    })

    it('groupCVs equals subtreeCV per group, including a short last group', () => {
      const data = randomBytes(5 * 16384 + 100, 3)
      const out = new Uint8Array(6 * 32)
      core.groupCVs(data, 32, 4, out)
      for (let g = 0; g < 6; g++) {
        const expected = core.subtreeCV(data.subarray(g * 16384, (g + 1) * 16384), 32 + g * 16, false)
        assert.deepEqual(out.subarray(g * 32, (g + 1) * 32), expected, `group ${g}`)
      }
    })
  })
}
