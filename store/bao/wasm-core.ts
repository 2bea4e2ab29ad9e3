import { readFileSync } from 'node:fs'
import { CHUNK_SIZE, HASH_SIZE, PAIR_SIZE } from './constants.js'
import type { Blake3Core, BorrowedInput } from './interface.js'
import { largestPowerOfTwoBelow } from './math.js'

interface KernelExports {
  memory: WebAssembly.Memory
  inputPtr: () => number
  inputSize: () => number
  cvsPtr: () => number
  pairPtr: () => number
  outPtr: () => number
  layoutOk: () => number
  subtree: (len: number, counterLo: number, counterHi: number, isRoot: number) => void
  groupCVs: (len: number, counterLo: number, counterHi: number, groupLog: number) => number
  pairsPtr: () => number
  lentPtr: () => number
  groupTree: (input: number, len: number, counterLo: number, counterHi: number, groupLog: number, inOrder: number) => number
  parent: (isRoot: number) => void
}

const TWO_POW_32 = 2 ** 32

/** The module, compiled once per process (instances are cheap). */
let compiled: WebAssembly.Module | undefined

/**
 * The WebAssembly SIMD kernel (store/bao/wasm/assembly/kernel.ts), built from source by
 * `npm run build`. Each call copies the caller's bytes into the kernel's memory once (WASM can
 * only read its own memory) and hashes them in one call: up to 1 MiB at a time.
 */
export class WasmCore implements Blake3Core {
  readonly name = 'wasm-simd'
  private readonly kernel: KernelExports
  private readonly memory: Uint8Array
  private readonly input: number
  private readonly inputSize: number
  private readonly cvs: number
  private readonly pair: number
  private readonly pairs: number
  private readonly out: number
  private readonly lent: number
  private lending = false

  private constructor (kernel: KernelExports) {
    this.kernel = kernel
    this.memory = new Uint8Array(kernel.memory.buffer)
    this.input = kernel.inputPtr()
    this.inputSize = kernel.inputSize()
    this.cvs = kernel.cvsPtr()
    this.pair = kernel.pairPtr()
    this.pairs = kernel.pairsPtr()
    this.out = kernel.outPtr()
    this.lent = kernel.lentPtr()
  }

  /** A new kernel instance; throws where the build output is missing or WASM SIMD is absent. */
  static create (): WasmCore {
    compiled ??= new WebAssembly.Module(readFileSync(new URL('./wasm/blake3.wasm', import.meta.url)))
    const instance = new WebAssembly.Instance(compiled, {
      env: { abort: () => { throw new Error('BLAKE3 kernel aborted') } }
    })
    const kernel = instance.exports as unknown as KernelExports
    if (kernel.layoutOk() !== 1) throw new Error('BLAKE3 kernel memory layout overlaps its static data')
    return new WasmCore(kernel)
  }

  /** A kernel, or undefined where it cannot run (the caller falls back to the portable core). */
  static tryCreate (): WasmCore | undefined {
    try {
      return WasmCore.create()
    } catch {
      return undefined
    }
  }

  subtreeCV (data: Uint8Array, startChunk: number, isRoot: boolean): Uint8Array {
    if (data.length > this.inputSize) {
      // Split by BLAKE3's rule until each side fits: the left sides are whole powers of two.
      const left = largestPowerOfTwoBelow(Math.ceil(data.length / CHUNK_SIZE))
      const split = left * CHUNK_SIZE
      // Both sides first: a side's own recursion uses the kernel's pair buffer.
      const leftCV = this.subtreeCV(data.subarray(0, split), startChunk, false)
      const rightCV = this.subtreeCV(data.subarray(split), startChunk + left, false)
      this.memory.set(leftCV, this.pair)
      this.memory.set(rightCV, this.pair + HASH_SIZE)
      this.kernel.parent(isRoot ? 1 : 0)
      return this.memory.slice(this.out, this.out + HASH_SIZE)
    }
    this.memory.set(data, this.input)
    this.kernel.subtree(data.length, startChunk % TWO_POW_32, Math.floor(startChunk / TWO_POW_32), isRoot ? 1 : 0)
    return this.memory.slice(this.out, this.out + HASH_SIZE)
  }

  groupCVs (data: Uint8Array, startChunk: number, groupLog: number, out: Uint8Array): void {
    const groupSize = CHUNK_SIZE << groupLog
    const perCall = Math.max(1, Math.floor(this.inputSize / groupSize)) * groupSize
    let written = 0
    for (let offset = 0; offset < data.length || offset === 0; offset += perCall) {
      const slice = data.subarray(offset, offset + perCall)
      this.memory.set(slice, this.input)
      const counter = startChunk + (offset / CHUNK_SIZE)
      const groups = this.kernel.groupCVs(slice.length, counter % TWO_POW_32, Math.floor(counter / TWO_POW_32), groupLog)
      out.set(this.memory.subarray(this.cvs, this.cvs + groups * HASH_SIZE), written)
      written += groups * HASH_SIZE
      if (data.length === 0) break
    }
  }

  groupTree (data: Uint8Array, startChunk: number, groupLog: number, pairs: Uint8Array, inOrder: boolean): Uint8Array {
    const groups = data.length / (CHUNK_SIZE << groupLog)
    if (data.length > this.inputSize || !Number.isInteger(groups) || groups < 1 || (groups & (groups - 1)) !== 0) {
      throw new RangeError(`groupTree takes 2^k whole groups of at most ${this.inputSize} bytes, got ${data.length} bytes`)
    }
    // Bytes in a lent buffer are hashed where they are; others are copied in.
    const inPlace = data.buffer === this.memory.buffer && data.byteOffset >= this.lent
    if (!inPlace) this.memory.set(data, this.input)
    this.kernel.groupTree(inPlace ? data.byteOffset : this.input, data.length, startChunk % TWO_POW_32, Math.floor(startChunk / TWO_POW_32), groupLog, inOrder ? 1 : 0)
    pairs.set(this.memory.subarray(this.pairs, this.pairs + (groups - 1) * PAIR_SIZE))
    return this.memory.slice(this.out, this.out + HASH_SIZE)
  }

  /**
   * The memory after the kernel's fixed layout (8 MiB), lent whole to one borrower at a time.
   * The buffers are views of the kernel's memory, which never grows, so they stay attached.
   */
  borrowInput (count: number, size: number): BorrowedInput | undefined {
    if (this.lending || count * size > this.memory.length - this.lent) return undefined
    this.lending = true
    const buffers = Array.from({ length: count }, (_, i) => this.memory.subarray(this.lent + i * size, this.lent + (i + 1) * size))
    let released = false
    return {
      buffers,
      release: () => {
        if (released) return
        released = true
        this.lending = false
      }
    }
  }

  parentCV (pair: Uint8Array, isRoot: boolean): Uint8Array {
    if (pair.length !== PAIR_SIZE) throw new RangeError(`pair must be ${PAIR_SIZE} bytes, got ${pair.length}`)
    this.memory.set(pair, this.pair)
    this.kernel.parent(isRoot ? 1 : 0)
    return this.memory.slice(this.out, this.out + HASH_SIZE)
  }
}
