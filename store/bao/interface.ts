/**
 * The BLAKE3 operations the hash tree needs. Three implementations: a portable one on
 * @noble/hashes primitives (store/bao/portable-core.ts), a WebAssembly SIMD kernel, and a native
 * one in C with the CPU's widest vectors (store/bao/native), built where a compiler is.
 *
 * Chunk numbers are JavaScript numbers (exact up to 2^53); the core passes them to BLAKE3 as the
 * 64-bit chunk counter. Chaining values are 32-byte Uint8Arrays.
 */
export interface Blake3Core {
  /** A short name for tables and test titles. */
  readonly name: string
  /**
   * Chaining value of the BLAKE3 subtree holding `data`, whose first chunk is chunk number
   * `startChunk` of the blob. Inside, chunks merge the way BLAKE3 does (left side = the largest
   * power of two of chunks strictly below the count). With `isRoot` the top node is
   * root-finalised, so `subtreeCV(blob, 0, true)` is the blob's BLAKE3 hash.
   */
  subtreeCV: (data: Uint8Array, startChunk: number, isRoot: boolean) => Uint8Array
  /**
   * Non-root chaining values of consecutive groups of `1 << groupLog` chunks: `data` starts at
   * chunk `startChunk` (a multiple of the group size); every group but the last is whole. Writes
   * 32 bytes per group into `out`, starting at `out[0]`.
   */
  groupCVs: (data: Uint8Array, startChunk: number, groupLog: number, out: Uint8Array) => void
  /**
   * A complete subtree of 2^k whole groups (`data.length` = 2^k group sizes, k >= 0) starting at
   * chunk `startChunk`: writes its 2^k - 1 parent pairs to `pairs` in outboard order (pre-order,
   * or in-order when `inOrder`) and returns its non-root chaining value. In both orders a complete
   * subtree's pairs are one contiguous run of the blob's outboard.
   */
  groupTree: (data: Uint8Array, startChunk: number, groupLog: number, pairs: Uint8Array, inOrder: boolean) => Uint8Array
  /**
   * Optional: groupTree with the hashing on another thread, so that several calls in flight hash
   * on several cores. `data` must stay unchanged until the promise settles; `pairs` is written
   * before it resolves.
   */
  groupTreeAsync?: (data: Uint8Array, startChunk: number, groupLog: number, pairs: Uint8Array, inOrder: boolean) => Promise<Uint8Array>
  /** Chaining value of a parent node whose children's values are `pair` (64 bytes: left, right). */
  parentCV: (pair: Uint8Array, isRoot: boolean) => Uint8Array
  /**
   * Optional: `count` buffers of `size` bytes in the core's own memory, which `groupTree` hashes
   * where they are instead of copying them in, for a caller that fills them itself (a file read
   * straight into them). Undefined when the core has no room, or has lent it already.
   */
  borrowInput?: (count: number, size: number) => BorrowedInput | undefined
}

/** Buffers lent by a core (Blake3Core.borrowInput). */
export interface BorrowedInput {
  buffers: Uint8Array[]
  /** Give them back, once nothing reads or writes them any more (a pending file write included). */
  release: () => void
}
