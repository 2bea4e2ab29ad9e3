import { _compress } from '@noble/hashes/blake2.js'
import { BLOCK_LEN, CHUNK_SIZE, Flags, HASH_SIZE, IV, PAIR_SIZE } from './constants.js'
import type { Blake3Core } from './interface.js'
import { largestPowerOfTwoBelow } from './math.js'

/** BLAKE3's seven message schedules: the identity permuted by its fixed permutation. */
const SIGMA: Uint8Array = (() => {
  const permutation = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
  const rows: number[] = []
  let row = Array.from({ length: 16 }, (_, i) => i)
  for (let round = 0; round < 7; round++) {
    rows.push(...row)
    row = permutation.map(i => row[i] as number)
  }
  return Uint8Array.from(rows)
})()

const TWO_POW_32 = 2 ** 32
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * The portable BLAKE3 core: every compression goes through @noble/hashes' `_compress`. It is the
 * reference the WebAssembly kernel is checked against, and the fallback where WASM SIMD is absent.
 */
export class PortableCore implements Blake3Core {
  readonly name = 'portable'
  private readonly cv = new Uint32Array(8)
  private readonly block = new Uint32Array(16)
  private readonly blockBytes = new Uint8Array(this.block.buffer)

  subtreeCV (data: Uint8Array, startChunk: number, isRoot: boolean): Uint8Array {
    if (data.length <= CHUNK_SIZE) return this.chunkCV(data, startChunk, isRoot)
    const leftChunks = largestPowerOfTwoBelow(Math.ceil(data.length / CHUNK_SIZE))
    const split = leftChunks * CHUNK_SIZE
    const pair = new Uint8Array(PAIR_SIZE)
    pair.set(this.subtreeCV(data.subarray(0, split), startChunk, false), 0)
    pair.set(this.subtreeCV(data.subarray(split), startChunk + leftChunks, false), HASH_SIZE)
    return this.parentCV(pair, isRoot)
  }

  groupCVs (data: Uint8Array, startChunk: number, groupLog: number, out: Uint8Array): void {
    const groupSize = CHUNK_SIZE << groupLog
    const groups = Math.max(1, Math.ceil(data.length / groupSize))
    for (let g = 0; g < groups; g++) {
      const group = data.subarray(g * groupSize, (g + 1) * groupSize)
      out.set(this.subtreeCV(group, startChunk + (g << groupLog), false), g * HASH_SIZE)
    }
  }

  groupTree (data: Uint8Array, startChunk: number, groupLog: number, pairs: Uint8Array, inOrder: boolean): Uint8Array {
    const groupSize = CHUNK_SIZE << groupLog
    let written = 0
    const walk = (bytes: Uint8Array, start: number): Uint8Array => {
      if (bytes.length <= groupSize) return this.subtreeCV(bytes, start, false)
      const half = bytes.length / 2
      const preSlot = written
      if (!inOrder) written += PAIR_SIZE
      const left = walk(bytes.subarray(0, half), start)
      const inSlot = written
      if (inOrder) written += PAIR_SIZE
      const right = walk(bytes.subarray(half), start + half / CHUNK_SIZE)
      const slot = inOrder ? inSlot : preSlot
      const pair = pairs.subarray(slot, slot + PAIR_SIZE)
      pair.set(left, 0)
      pair.set(right, HASH_SIZE)
      return this.parentCV(pair, false)
    }
    return walk(data, startChunk)
  }

  parentCV (pair: Uint8Array, isRoot: boolean): Uint8Array {
    this.cv.set(IV)
    this.loadBlock(pair, 0, PAIR_SIZE)
    this.compress(0, BLOCK_LEN, Flags.PARENT | (isRoot ? Flags.ROOT : 0))
    return this.cvBytes()
  }

  private chunkCV (chunk: Uint8Array, counter: number, isRoot: boolean): Uint8Array {
    this.cv.set(IV)
    const blocks = Math.max(1, Math.ceil(chunk.length / BLOCK_LEN))
    for (let b = 0; b < blocks; b++) {
      const start = b * BLOCK_LEN
      const length = Math.min(BLOCK_LEN, chunk.length - start)
      this.loadBlock(chunk, start, length)
      let flags = b === 0 ? Flags.CHUNK_START : 0
      if (b === blocks - 1) flags |= Flags.CHUNK_END | (isRoot ? Flags.ROOT : 0)
      this.compress(counter, length, flags)
    }
    return this.cvBytes()
  }

  private loadBlock (source: Uint8Array, start: number, length: number): void {
    this.block.fill(0)
    this.blockBytes.set(source.subarray(start, start + length))
    if (!littleEndian) {
      for (let i = 0; i < 16; i++) this.block[i] = byteSwap(this.block[i] as number)
    }
  }

  private compress (counter: number, blockLen: number, flags: number): void {
    const s = this.cv
    const low = counter % TWO_POW_32
    const high = Math.floor(counter / TWO_POW_32)
    const v = _compress(SIGMA, 0, this.block, 7,
      s[0] as number, s[1] as number, s[2] as number, s[3] as number,
      s[4] as number, s[5] as number, s[6] as number, s[7] as number,
      IV[0] as number, IV[1] as number, IV[2] as number, IV[3] as number,
      low | 0, high | 0, blockLen, flags)
    s[0] = v.v0 ^ v.v8
    s[1] = v.v1 ^ v.v9
    s[2] = v.v2 ^ v.v10
    s[3] = v.v3 ^ v.v11
    s[4] = v.v4 ^ v.v12
    s[5] = v.v5 ^ v.v13
    s[6] = v.v6 ^ v.v14
    s[7] = v.v7 ^ v.v15
  }

  private cvBytes (): Uint8Array {
    const out = new Uint8Array(HASH_SIZE)
    const view = new DataView(out.buffer)
    for (let i = 0; i < 8; i++) view.setUint32(i * 4, this.cv[i] as number, true)
    return out
  }
}

function byteSwap (x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0
}
