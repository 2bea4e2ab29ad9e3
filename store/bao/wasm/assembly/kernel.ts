// BLAKE3 tree hashing kernel, AssemblyScript compiled to WebAssembly with 128-bit SIMD.
//
// This is a template: `npm run build` (store/bao/wasm/build.ts) replaces each `// <<NAME>>`
// marker with generated straight-line code (the seven rounds unrolled with the message schedule
// resolved at generation time, so no message permutation is ever executed) and compiles the
// result with asc. No binary is committed.
//
// Four chunks are hashed at once, one per SIMD lane, the way BLAKE3's SSE4.1 code does: the state
// and the message are "transposed" (vector i holds word i of four different chunks). Parents are
// merged four at a time from transposed chaining values, so a whole 16 KiB group costs 68 four-way
// compressions and one scalar one.
//
// Memory layout (fixed; the JavaScript side copies input in and results out):
//   INPUT       1 MiB of input bytes
//   TRANSPOSED  chaining values of chunk quads, word-major (128 bytes a quad)
//   CVS         linear chaining values (32 bytes each): groupCVs' and groupTree's output
//   PAIRS       groupTree's parent pairs in outboard order (64 bytes each)
//   PAIR, OUT   a 64-byte parent pair in, a 32-byte chaining value out
//   STACK       parent pairs of the generic recursion, 64 bytes a level
//   SCRATCH     one zero-padded message block, one chaining value, one transposed message
//   LENT        from LENT to the end of memory: buffers lent to the caller (WasmCore.borrowInput),
//               which it fills itself (a file read straight in) and groupTree hashes where they are

const INPUT: usize = 65536
const INPUT_SIZE: usize = 1 << 20
const TRANSPOSED: usize = INPUT + INPUT_SIZE
const CVS: usize = TRANSPOSED + 32768
const PAIRS: usize = CVS + 65536
const PAIR: usize = PAIRS + 65536
const OUT: usize = PAIR + 64
const STACK: usize = OUT + 64
const BLOCK: usize = STACK + 64 * 64
const CV: usize = BLOCK + 64
const MSG: usize = CV + 64

const CHUNK_START: u32 = 1
const CHUNK_END: u32 = 2
const PARENT: u32 = 4
const ROOT: u32 = 8
const NO_RECORD: usize = 64

const IV0: u32 = 0x6a09e667
const IV1: u32 = 0xbb67ae85
const IV2: u32 = 0x3c6ef372
const IV3: u32 = 0xa54ff53a
const IV4: u32 = 0x510e527f
const IV5: u32 = 0x9b05688c
const IV6: u32 = 0x1f83d9ab
const IV7: u32 = 0x5be0cd19

/** Start of the lent buffers: the first whole page after the fixed layout. */
const LENT: usize = (MSG + 256 + 65535) & ~<usize>65535

export function inputPtr (): usize { return INPUT }
export function lentPtr (): usize { return LENT }
export function inputSize (): usize { return INPUT_SIZE }
export function cvsPtr (): usize { return CVS }
export function pairPtr (): usize { return PAIR }
export function pairsPtr (): usize { return PAIRS }
export function outPtr (): usize { return OUT }
/** Whether the compiler's static data ends below INPUT (checked once by the loader). */
export function layoutOk (): bool { return __heap_base <= INPUT && memory.size() * 65536 >= <i32>(MSG + 256) }

@inline function rot16 (x: v128): v128 { return i8x16.shuffle(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13) }
@inline function rot12 (x: v128): v128 { return v128.or(i32x4.shr_u(x, 12), i32x4.shl(x, 20)) }
@inline function rot8 (x: v128): v128 { return v128.or(i32x4.shr_u(x, 8), i32x4.shl(x, 24)) }
@inline function rot7 (x: v128): v128 { return v128.or(i32x4.shr_u(x, 7), i32x4.shl(x, 25)) }

/** One scalar compression: chaining value at `cvPtr`, message block at `msgPtr`, result to `outPtr` (may alias). */
function compress1 (cvPtr: usize, msgPtr: usize, counter: u64, blockLen: u32, flags: u32, outPtr: usize): void {
  let m0 = load<u32>(msgPtr, 0); let m1 = load<u32>(msgPtr, 4); let m2 = load<u32>(msgPtr, 8); let m3 = load<u32>(msgPtr, 12)
  let m4 = load<u32>(msgPtr, 16); let m5 = load<u32>(msgPtr, 20); let m6 = load<u32>(msgPtr, 24); let m7 = load<u32>(msgPtr, 28)
  let m8 = load<u32>(msgPtr, 32); let m9 = load<u32>(msgPtr, 36); let m10 = load<u32>(msgPtr, 40); let m11 = load<u32>(msgPtr, 44)
  let m12 = load<u32>(msgPtr, 48); let m13 = load<u32>(msgPtr, 52); let m14 = load<u32>(msgPtr, 56); let m15 = load<u32>(msgPtr, 60)
  let v0 = load<u32>(cvPtr, 0); let v1 = load<u32>(cvPtr, 4); let v2 = load<u32>(cvPtr, 8); let v3 = load<u32>(cvPtr, 12)
  let v4 = load<u32>(cvPtr, 16); let v5 = load<u32>(cvPtr, 20); let v6 = load<u32>(cvPtr, 24); let v7 = load<u32>(cvPtr, 28)
  let v8 = IV0; let v9 = IV1; let v10 = IV2; let v11 = IV3
  let v12 = <u32>counter; let v13 = <u32>(counter >> 32); let v14 = blockLen; let v15 = flags
  // <<ROUNDS1>>
  store<u32>(outPtr, v0 ^ v8, 0); store<u32>(outPtr, v1 ^ v9, 4); store<u32>(outPtr, v2 ^ v10, 8); store<u32>(outPtr, v3 ^ v11, 12)
  store<u32>(outPtr, v4 ^ v12, 16); store<u32>(outPtr, v5 ^ v13, 20); store<u32>(outPtr, v6 ^ v14, 24); store<u32>(outPtr, v7 ^ v15, 28)
}

@inline function setIV (ptr: usize): void {
  store<u32>(ptr, IV0, 0); store<u32>(ptr, IV1, 4); store<u32>(ptr, IV2, 8); store<u32>(ptr, IV3, 12)
  store<u32>(ptr, IV4, 16); store<u32>(ptr, IV5, 20); store<u32>(ptr, IV6, 24); store<u32>(ptr, IV7, 28)
}

/** Chaining value of one chunk (0..1024 bytes) at `ptr`, scalar. */
function chunk1 (ptr: usize, len: usize, counter: u64, rootFlag: u32, outPtr: usize): void {
  setIV(CV)
  let blocks: usize = len == 0 ? 1 : (len + 63) >> 6
  for (let b: usize = 0; b < blocks; b++) {
    let flags: u32 = b == 0 ? CHUNK_START : 0
    let blockLen: usize = 64
    let msg = ptr + (b << 6)
    if (b == blocks - 1) {
      flags |= CHUNK_END | rootFlag
      blockLen = len - (b << 6)
      if (blockLen < 64) {
        memory.fill(BLOCK, 0, 64)
        memory.copy(BLOCK, msg, blockLen)
        msg = BLOCK
      }
    }
    compress1(CV, msg, counter, <u32>blockLen, flags, CV)
  }
  memory.copy(outPtr, CV, 32)
}

/** Four whole chunks at `ptr` (counters counter..counter+3), chaining values transposed to `outT`. */
function hash4 (ptr: usize, counter: u64, outT: usize): void {
  let lo = i32x4.splat(<i32>counter)
  let hi = i32x4.splat(<i32>(counter >> 32))
  for (let j: u8 = 1; j < 4; j++) {
    let c = counter + j
    if (j == 1) { lo = i32x4.replace_lane(lo, 1, <i32>c); hi = i32x4.replace_lane(hi, 1, <i32>(c >> 32)) }
    if (j == 2) { lo = i32x4.replace_lane(lo, 2, <i32>c); hi = i32x4.replace_lane(hi, 2, <i32>(c >> 32)) }
    if (j == 3) { lo = i32x4.replace_lane(lo, 3, <i32>c); hi = i32x4.replace_lane(hi, 3, <i32>(c >> 32)) }
  }
  let h0 = i32x4.splat(IV0); let h1 = i32x4.splat(IV1); let h2 = i32x4.splat(IV2); let h3 = i32x4.splat(IV3)
  let h4 = i32x4.splat(IV4); let h5 = i32x4.splat(IV5); let h6 = i32x4.splat(IV6); let h7 = i32x4.splat(IV7)
  let blockLen = i32x4.splat(64)
  for (let b: usize = 0; b < 16; b++) {
    let p0 = ptr + (b << 6)
    let p1 = p0 + 1024
    let p2 = p0 + 2048
    let p3 = p0 + 3072
    let a: v128, bb: v128, c: v128, d: v128, t0: v128, t1: v128, t2: v128, t3: v128
    // <<LOAD4>>
    let flags: u32 = b == 0 ? CHUNK_START : (b == 15 ? CHUNK_END : 0)
    let v0 = h0; let v1 = h1; let v2 = h2; let v3 = h3; let v4 = h4; let v5 = h5; let v6 = h6; let v7 = h7
    let v8 = i32x4.splat(IV0); let v9 = i32x4.splat(IV1); let v10 = i32x4.splat(IV2); let v11 = i32x4.splat(IV3)
    let v12 = lo; let v13 = hi; let v14 = blockLen; let v15 = i32x4.splat(flags)
    // <<ROUNDS4>>
    h0 = v128.xor(v0, v8); h1 = v128.xor(v1, v9); h2 = v128.xor(v2, v10); h3 = v128.xor(v3, v11)
    h4 = v128.xor(v4, v12); h5 = v128.xor(v5, v13); h6 = v128.xor(v6, v14); h7 = v128.xor(v7, v15)
  }
  v128.store(outT, h0, 0); v128.store(outT, h1, 16); v128.store(outT, h2, 32); v128.store(outT, h3, 48)
  v128.store(outT, h4, 64); v128.store(outT, h5, 80); v128.store(outT, h6, 96); v128.store(outT, h7, 112)
}

/**
 * Non-root parents of transposed chaining values: the quads at `aT` and `bT` hold eight values,
 * giving four parents (value 2p with 2p+1), transposed to `outT` (may alias the inputs). With
 * `bT` = `aT` the four values give two parents, in lanes 0 and 1.
 */
function parents4 (aT: usize, bT: usize, outT: usize): void {
  let x: v128, y: v128
  // <<PAIRS4>>
  let v0 = i32x4.splat(IV0); let v1 = i32x4.splat(IV1); let v2 = i32x4.splat(IV2); let v3 = i32x4.splat(IV3)
  let v4 = i32x4.splat(IV4); let v5 = i32x4.splat(IV5); let v6 = i32x4.splat(IV6); let v7 = i32x4.splat(IV7)
  let v8 = i32x4.splat(IV0); let v9 = i32x4.splat(IV1); let v10 = i32x4.splat(IV2); let v11 = i32x4.splat(IV3)
  let v12 = i32x4.splat(0); let v13 = i32x4.splat(0); let v14 = i32x4.splat(64); let v15 = i32x4.splat(PARENT)
  // <<ROUNDS4>>
  v128.store(outT, v128.xor(v0, v8), 0); v128.store(outT, v128.xor(v1, v9), 16)
  v128.store(outT, v128.xor(v2, v10), 32); v128.store(outT, v128.xor(v3, v11), 48)
  v128.store(outT, v128.xor(v4, v12), 64); v128.store(outT, v128.xor(v5, v13), 80)
  v128.store(outT, v128.xor(v6, v14), 96); v128.store(outT, v128.xor(v7, v15), 112)
}

/** Copy `count` transposed values from TRANSPOSED to `dst` as linear 32-byte values. */
function untranspose (count: usize, dst: usize): void {
  for (let v: usize = 0; v < count; v++) {
    let src = TRANSPOSED + ((v >> 2) << 7) + ((v & 3) << 2)
    for (let i: usize = 0; i < 8; i++) store<u32>(dst + (v << 5) + (i << 2), load<u32>(src + (i << 4)))
  }
}

/**
 * A subtree of `chunks` whole chunks, a power of two >= 4, at `ptr`, merged four parents at a
 * time. The values of every level from `recordFrom` up (level L covers 2^L chunks) are copied,
 * one level after the other, to `levels` as linear 32-byte values (NO_RECORD: none).
 */
function pow2Subtree (ptr: usize, chunks: usize, counter: u64, rootFlag: u32, outPtr: usize, recordFrom: usize, levels: usize): void {
  let quads = chunks >> 2
  for (let q: usize = 0; q < quads; q++) hash4(ptr + (q << 12), counter + (q << 2), TRANSPOSED + (q << 7))
  let level: usize = 0
  let count = chunks
  if (recordFrom == 0) { untranspose(count, levels); levels += count << 5 }
  while (quads > 1) {
    quads >>= 1
    for (let t: usize = 0; t < quads; t++) {
      parents4(TRANSPOSED + (t << 8), TRANSPOSED + (t << 8) + 128, TRANSPOSED + (t << 7))
    }
    level++
    count >>= 1
    if (level >= recordFrom) { untranspose(count, levels); levels += count << 5 }
  }
  parents4(TRANSPOSED, TRANSPOSED, TRANSPOSED)
  level++
  if (level >= recordFrom) { untranspose(2, levels); levels += 64 }
  // The top parent: lane 0 (left) and lane 1 (right) of the last two values.
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(BLOCK + (i << 2), load<u32>(TRANSPOSED + (i << 4)))
    store<u32>(BLOCK + 32 + (i << 2), load<u32>(TRANSPOSED + (i << 4) + 4))
  }
  setIV(CV)
  compress1(CV, BLOCK, 0, 64, PARENT | rootFlag, outPtr)
  if (level + 1 >= recordFrom) memory.copy(levels, outPtr, 32)
}

/** Any subtree (BLAKE3's split rule), recursing with one parent pair per level on STACK. */
function subtreeAt (ptr: usize, len: usize, counter: u64, rootFlag: u32, outPtr: usize, depth: usize): void {
  let chunks: usize = len <= 1024 ? 1 : (len + 1023) >> 10
  if (chunks == 1) {
    chunk1(ptr, len, counter, rootFlag, outPtr)
    return
  }
  if (chunks >= 4 && (chunks & (chunks - 1)) == 0 && len == chunks << 10) {
    pow2Subtree(ptr, chunks, counter, rootFlag, outPtr, NO_RECORD, 0)
    return
  }
  let left: usize = 1
  while (left * 2 < chunks) left *= 2
  let pair = STACK + (depth << 6)
  subtreeAt(ptr, left << 10, counter, 0, pair, depth + 1)
  subtreeAt(ptr + (left << 10), len - (left << 10), counter + left, 0, pair + 32, depth + 1)
  setIV(CV)
  compress1(CV, pair, 0, 64, PARENT | rootFlag, outPtr)
}

/** Chaining value of the `len` input bytes as a subtree starting at chunk `counter`, to OUT. */
export function subtree (len: usize, counterLo: u32, counterHi: u32, isRoot: bool): void {
  subtreeAt(INPUT, len, (<u64>counterHi << 32) | counterLo, isRoot ? ROOT : 0, OUT, 0)
}

/** Non-root chaining values of consecutive groups of 2^groupLog chunks (the last may be short), to CVS. */
export function groupCVs (len: usize, counterLo: u32, counterHi: u32, groupLog: u32): u32 {
  return groupCVsAt(INPUT, len, (<u64>counterHi << 32) | counterLo, groupLog)
}

function groupCVsAt (input: usize, len: usize, counter: u64, groupLog: u32): u32 {
  let groupSize: usize = <usize>1024 << groupLog
  let groups: u32 = 0
  for (let offset: usize = 0; offset < len || groups == 0; offset += groupSize) {
    let size = len - offset < groupSize ? len - offset : groupSize
    subtreeAt(input + offset, size, counter + (<u64>groups << groupLog), 0, CVS + (<usize>groups << 5), 0)
    groups++
  }
  return groups
}

/** Chaining value of the parent whose pair is at PAIR, to OUT. */
export function parent (isRoot: bool): void {
  setIV(CV)
  compress1(CV, PAIR, 0, 64, PARENT | (isRoot ? ROOT : 0), OUT)
}

/** Byte offset in CVS of level `level`'s values, for a tree over `groups` groups. */
function levelBase (groups: usize, level: usize): usize {
  let base = CVS
  for (let t: usize = 0; t < level; t++) base += (groups >> t) << 5
  return base
}

/** Copy parent (level, index) and its subtree's parents to `dst`: pre-order or in-order. */
function emitPairs (groups: usize, level: usize, index: usize, inOrder: bool, dst: usize): usize {
  let pair = levelBase(groups, level - 1) + (index << 6)
  if (!inOrder) { memory.copy(dst, pair, 64); dst += 64 }
  if (level > 1) dst = emitPairs(groups, level - 1, index << 1, inOrder, dst)
  if (inOrder) { memory.copy(dst, pair, 64); dst += 64 }
  if (level > 1) dst = emitPairs(groups, level - 1, (index << 1) + 1, inOrder, dst)
  return dst
}

/**
 * A complete subtree of `len` bytes = 2^k whole groups: its groups' values, then each level of
 * parents, one level after the other in CVS (level j + 1's pairs are level j's values read 64
 * bytes at a time); its 2^k - 1 parent pairs copied to PAIRS in outboard order (pre-order, or
 * in-order with `inOrder`); its non-root value to OUT. Returns the number of groups. The bytes
 * are at `input`: INPUT, or a lent buffer.
 */
export function groupTree (input: usize, len: usize, counterLo: u32, counterHi: u32, groupLog: u32, inOrder: bool): u32 {
  let counter = (<u64>counterHi << 32) | counterLo
  let groups = <u32>(len >> (10 + groupLog))
  let levels: usize = 0
  while ((<u32>1 << <u32>levels) < groups) levels++
  if (groupLog >= 2) {
    // One SIMD merge tree over the whole batch, recording the levels from the groups up.
    pow2Subtree(input, len >> 10, counter, 0, OUT, groupLog, CVS)
  } else {
    groupCVsAt(input, len, counter, groupLog)
    let from = CVS
    let to = CVS + (<usize>groups << 5)
    for (let count = groups >> 1; count > 0; count >>= 1) {
      for (let i: usize = 0; i < count; i++) {
        setIV(CV)
        compress1(CV, from + (i << 6), 0, 64, PARENT, to + (i << 5))
      }
      from = to
      to += count << 5
    }
    memory.copy(OUT, from, 32)
  }
  if (levels > 0) emitPairs(groups, levels, 0, inOrder, PAIRS)
  return groups
}
