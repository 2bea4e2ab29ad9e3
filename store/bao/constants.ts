/** BLAKE3's chunk: 1024 bytes, hashed with its chunk counter. */
export const CHUNK_LOG = 10
export const CHUNK_SIZE = 1 << CHUNK_LOG
/** BLAKE3's compression block: 64 bytes. */
export const BLOCK_LEN = 64
/** Chunks per group, as a power of two: 16 chunks = 16 KiB groups (PROTOCOL.md section 1). */
export const GROUP_LOG = 4
export const GROUP_CHUNKS = 1 << GROUP_LOG
export const GROUP_SIZE = CHUNK_SIZE << GROUP_LOG
/** Bytes of one outboard entry: the left and right chaining values of a parent. */
export const PAIR_SIZE = 64
/** Bytes of a chaining value or hash. */
export const HASH_SIZE = 32
/** Bytes of the size header that starts an encoded stream. */
export const SIZE_HEADER = 8
/**
 * The largest blob size verity handles: sizes are JavaScript numbers, exact up to 2^53.
 * iroh's u64 sizes above this are refused with InvalidSize (docs/PROTOCOL.md).
 */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER

/** BLAKE3 domain flags. */
export const Flags = {
  CHUNK_START: 1,
  CHUNK_END: 2,
  PARENT: 4,
  ROOT: 8
} as const

/** BLAKE3's IV (the SHA-256 IV). */
export const IV: readonly number[] = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
]

/** The hash of the empty blob (PROTOCOL.md section 1). */
export const EMPTY_HASH_HEX = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'
