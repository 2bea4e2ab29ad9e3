import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { CHUNK_SIZE, HASH_SIZE, PAIR_SIZE } from './constants.js'
import type { Blake3Core, BorrowedInput } from './interface.js'
import { largestPowerOfTwoBelow } from './math.js'
import { WasmCore } from './wasm-core.js'

/** The Node-API module built from store/bao/native (native/build.ts); lengths are checked there too. */
interface NativeKernel {
  /** `native-avx512`, `native-avx2` or `native-128`: the widest kernel this CPU runs. */
  kernel: string
  /** Non-root chaining values of whole 1 KiB chunks, 32 bytes each into `out`. */
  chunks: (data: Uint8Array, startChunk: number, out: Uint8Array) => void
  /** Chaining values of parents whose children's values are the 64-byte pairs in `pairs`. */
  parents: (pairs: Uint8Array, out: Uint8Array, isRoot: boolean) => void
  /** The chaining value of 2^k whole chunks (k >= 1). */
  subtree: (data: Uint8Array, startChunk: number, isRoot: boolean, out: Uint8Array) => void
  /** Linux: bytes of a file read now from the page cache, none that would wait for the disk; -1 where the file system cannot (see readCached). */
  readCached?: (fd: number, target: Uint8Array, position: number) => number
  /** Linux: each buffer written whole at its position of its file, in order, as one job of libuv's pool (see fileJobs). */
  writeAll?: (fds: number[], positions: number[], buffers: Uint8Array[]) => Promise<void>
  /** Linux: fdatasync of each file, in order, as one job of libuv's pool. */
  syncAll?: (fds: number[]) => Promise<void>
  /** Non-root chaining values of whole groups of 2^groupLog chunks (groupLog 1 to 20), hashed on a thread of libuv's pool. */
  hashGroups?: (data: Uint8Array, startChunk: number, groupLog: number, out: Uint8Array) => Promise<void>
}

/** How a writeAll or syncAll job failed: the errno of the call and the index of its write or file. */
export interface FileJobFailure { errno: number, index: number }

/**
 * Writes to several files, and fdatasyncs of several, each as one job of libuv's pool: through
 * Node, every write and every sync is a job of its own, and each job costs a thread handoff both
 * ways (about 0.2 ms of CPU here, a 2-core VM: 256 writes of 1 MiB took 112-143 ms of CPU
 * through the pool, 65-90 ms written on the calling thread). Both stop at the first failure and
 * reject with a FileJobFailure. Where the native module runs on Linux and is not steered off
 * (`VERITY_BLAKE3_CORE=wasm|portable`); undefined elsewhere.
 */
export function fileJobs (): { writeAll: NonNullable<NativeKernel['writeAll']>, syncAll: NonNullable<NativeKernel['syncAll']> } | undefined {
  const native = nativeAllowed() ? nativeModule() : null
  if (native?.writeAll === undefined || native.syncAll === undefined) return undefined
  return { writeAll: native.writeAll, syncAll: native.syncAll }
}

/** Where `npm run build` puts the module (dist/store/bao/native/blake3.node). */
const MODULE = new URL('./native/blake3.node', import.meta.url)
/** Chunk values computed per native call when hashing many groups: 1 MiB of input. */
const CHUNKS_PER_CALL = 1024

let loaded: NativeKernel | null | undefined

/** The built module, or null where it was not built or cannot load. */
function nativeModule (): NativeKernel | null {
  if (loaded === undefined) {
    try {
      loaded = existsSync(MODULE) ? createRequire(import.meta.url)(fileURLToPath(MODULE)) as NativeKernel : null
    } catch {
      loaded = null
    }
  }
  return loaded
}

/**
 * Where the native module was built and runs on Linux: reads into `target` the bytes of file
 * `fd` from `position` that the page cache holds, on the calling thread (preadv2 with
 * RWF_NOWAIT), stopping at the first that would wait for the disk, at the end of the file or at
 * an error; returns how many, or -1 where the file's file system (or the kernel) cannot read that
 * way. The caller reads the rest as usual (an error is reported there). Undefined elsewhere, and
 * with `VERITY_BLAKE3_CORE=wasm` or `=portable`, which keep the process off the native module.
 */
export function readCached (): ((fd: number, target: Uint8Array, position: number) => number) | undefined {
  return nativeAllowed() ? nativeModule()?.readCached : undefined
}

/** Whether the process may use the native module: not with `VERITY_BLAKE3_CORE=wasm` or `=portable` (core.ts). */
export function nativeAllowed (): boolean {
  const from = process.env.VERITY_BLAKE3_CORE
  return from !== 'wasm' && from !== 'portable'
}

/** Whether `n` is 2^k for some k >= `least`. */
function powerOfTwo (n: number, least: number): boolean {
  return Number.isInteger(n) && n >= 2 ** least && (n & (n - 1)) === 0
}

/**
 * BLAKE3 in C with the CPU's widest vectors (AVX-512: 16 chunks per compression, AVX2: 8),
 * reading the caller's bytes where they are. Built by `npm run build` where a C compiler and
 * Node's headers are found; used only where it is faster than the WebAssembly kernel (8 lanes or
 * more), which does what the native module does not (a subtree's last two chunks when they are
 * not whole, single chunks, lending buffers).
 */
export class NativeCore implements Blake3Core {
  readonly name: string
  private readonly out = new Uint8Array(HASH_SIZE)
  private cvs = new Uint8Array(CHUNKS_PER_CALL * HASH_SIZE)

  private constructor (private readonly native: NativeKernel, private readonly wasm: WasmCore) {
    this.name = native.kernel
  }

  /** The native kernel; throws where it was not built, cannot load, or is narrower than 8 lanes. */
  static create (): NativeCore {
    if (!existsSync(MODULE)) throw new Error('the native BLAKE3 kernel was not built (no C compiler or Node headers at build time)')
    const native = createRequire(import.meta.url)(fileURLToPath(MODULE)) as NativeKernel // throws why it cannot load
    loaded = native
    if (native.kernel === 'native-128') throw new Error('the native BLAKE3 kernel has 4 lanes here, slower than the WebAssembly one')
    return new NativeCore(native, WasmCore.create())
  }

  /** The native kernel, or undefined where it cannot be used (the caller takes the WebAssembly one). */
  static tryCreate (): NativeCore | undefined {
    try {
      return NativeCore.create()
    } catch {
      return undefined
    }
  }

  subtreeCV (data: Uint8Array, startChunk: number, isRoot: boolean): Uint8Array {
    const chunks = Math.ceil(data.length / CHUNK_SIZE)
    if (powerOfTwo(data.length / CHUNK_SIZE, 1)) {
      this.native.subtree(data, startChunk, isRoot, this.out)
      return this.out.slice()
    }
    if (chunks <= 2) return this.wasm.subtreeCV(data, startChunk, isRoot)
    // BLAKE3's split: the left side is the largest power of two of chunks below the count, whole
    // (native); the right side splits again until what is left is short (a blob's last bytes).
    const left = largestPowerOfTwoBelow(chunks)
    const pair = new Uint8Array(PAIR_SIZE)
    pair.set(this.subtreeCV(data.subarray(0, left * CHUNK_SIZE), startChunk, false), 0)
    pair.set(this.subtreeCV(data.subarray(left * CHUNK_SIZE), startChunk + left, false), HASH_SIZE)
    return this.parentCV(pair, isRoot)
  }

  groupCVs (data: Uint8Array, startChunk: number, groupLog: number, out: Uint8Array): void {
    const groupSize = CHUNK_SIZE << groupLog
    const whole = groupLog === 0 ? 0 : Math.floor(data.length / groupSize)
    this.wholeGroupCVs(data.subarray(0, whole * groupSize), startChunk, groupLog, out)
    if (whole * groupSize < data.length || data.length === 0) {
      this.wasm.groupCVs(data.subarray(whole * groupSize), startChunk + (whole << groupLog), groupLog, out.subarray(whole * HASH_SIZE))
    }
  }

  groupTree (data: Uint8Array, startChunk: number, groupLog: number, pairs: Uint8Array, inOrder: boolean): Uint8Array {
    const groups = data.length / (CHUNK_SIZE << groupLog)
    if (groupLog === 0 || !powerOfTwo(groups, 0)) return this.wasm.groupTree(data, startChunk, groupLog, pairs, inOrder)
    const values = new Uint8Array(groups * HASH_SIZE)
    this.wholeGroupCVs(data, startChunk, groupLog, values)
    return this.treeAbove(values, pairs, inOrder)
  }

  /**
   * groupTree with the groups hashed on a thread of libuv's pool (the tree above them, one
   * compression per group, on the calling thread): several at once hash on several cores.
   * `data` must stay unchanged until the promise settles. Shapes the native job does not take
   * (groupLog 0, a count of groups that is not a power of two) are hashed at once, here.
   */
  async groupTreeAsync (data: Uint8Array, startChunk: number, groupLog: number, pairs: Uint8Array, inOrder: boolean): Promise<Uint8Array> {
    const groups = data.length / (CHUNK_SIZE << groupLog)
    const job = this.native.hashGroups
    if (job === undefined || groupLog === 0 || groupLog > 20 || !powerOfTwo(groups, 0)) return this.groupTree(data, startChunk, groupLog, pairs, inOrder)
    const values = new Uint8Array(groups * HASH_SIZE)
    await job(data, startChunk, groupLog, values)
    return this.treeAbove(values, pairs, inOrder)
  }

  /**
   * The subtree over `values`, the chaining values of 2^k consecutive groups: writes its
   * 2^k - 1 parent pairs to `pairs` (pre-order, or in-order) and returns its non-root value.
   */
  private treeAbove (values: Uint8Array, pairs: Uint8Array, inOrder: boolean): Uint8Array {
    const groups = values.length / HASH_SIZE
    // Each level above from the one below: a level's pairs are the values below it side by
    // side, so each level is one native call.
    const levels = [values]
    for (let n = groups / 2; n >= 1; n /= 2) {
      const next = new Uint8Array(n * HASH_SIZE)
      this.native.parents(levels[levels.length - 1] as Uint8Array, next, false)
      levels.push(next)
    }
    // Node (h, p): the p-th node h levels above the groups; its pair is level h - 1 at 2p.
    const pairOf = (h: number, p: number): Uint8Array => (levels[h - 1] as Uint8Array).subarray(2 * p * HASH_SIZE, (2 * p + 2) * HASH_SIZE)
    const height = levels.length - 1
    if (inOrder) {
      for (let i = 1; i < groups; i++) {
        let h = 1
        while (((i >> (h - 1)) & 1) === 0) h++
        pairs.set(pairOf(h, i >> h), (i - 1) * PAIR_SIZE)
      }
    } else {
      let at = 0
      const visit = (h: number, p: number): void => {
        if (h === 0) return
        pairs.set(pairOf(h, p), at)
        at += PAIR_SIZE
        visit(h - 1, 2 * p)
        visit(h - 1, 2 * p + 1)
      }
      visit(height, 0)
    }
    return (levels[height] as Uint8Array).slice()
  }

  parentCV (pair: Uint8Array, isRoot: boolean): Uint8Array {
    if (pair.length !== PAIR_SIZE) throw new RangeError(`pair must be ${PAIR_SIZE} bytes, got ${pair.length}`)
    this.native.parents(pair, this.out, isRoot)
    return this.out.slice()
  }

  /** The WebAssembly kernel's buffers: the native kernel reads any buffer where it is. */
  borrowInput (count: number, size: number): BorrowedInput | undefined {
    return this.wasm.borrowInput(count, size)
  }

  /** Non-root values of whole groups of 2^groupLog chunks (groupLog >= 1), 1 MiB per native call. */
  private wholeGroupCVs (data: Uint8Array, startChunk: number, groupLog: number, out: Uint8Array): void {
    const groupChunks = 1 << groupLog
    const perCall = Math.max(groupChunks, CHUNKS_PER_CALL - (CHUNKS_PER_CALL % groupChunks))
    if (this.cvs.length < perCall * HASH_SIZE) this.cvs = new Uint8Array(perCall * HASH_SIZE)
    for (let chunk = 0; chunk * CHUNK_SIZE < data.length; chunk += perCall) {
      const slice = data.subarray(chunk * CHUNK_SIZE, (chunk + perCall) * CHUNK_SIZE)
      const chunks = slice.length / CHUNK_SIZE
      this.native.chunks(slice, startChunk + chunk, this.cvs)
      // Up the levels inside the groups, each written over the start of the one below.
      for (let n = chunks / 2; n >= chunks / groupChunks; n /= 2) this.native.parents(this.cvs.subarray(0, 2 * n * HASH_SIZE), this.cvs, false)
      out.set(this.cvs.subarray(0, (chunks / groupChunks) * HASH_SIZE), (chunk / groupChunks) * HASH_SIZE)
    }
  }
}
