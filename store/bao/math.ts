/** The largest power of two strictly below `n` (n >= 2): the left side of a BLAKE3 parent. */
export function largestPowerOfTwoBelow (n: number): number {
  let p = 1
  while (p * 2 < n) p *= 2
  return p
}

/** Number of trailing one bits of a non-negative integer below 2^53 (a node's level). */
export function trailingOnes (n: number): number {
  let count = 0
  while (n % 2 === 1) {
    count++
    n = (n - 1) / 2
  }
  return count
}

/** Whether two byte arrays hold the same bytes. */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false
  }
  return true
}

/** Number of one bits of a non-negative integer below 2^53. */
export function popcount (n: number): number {
  return popcount32(n % 2 ** 32) + popcount32(Math.floor(n / 2 ** 32))
}

function popcount32 (x: number): number {
  x = x - ((x >>> 1) & 0x55555555)
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
}
