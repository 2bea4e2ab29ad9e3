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
