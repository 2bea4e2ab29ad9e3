/**
 * The ring's hash: 32-bit FNV-1a over the UTF-16 code units of the text, then MurmurHash3's
 * 32-bit finalizer (fmix32) so that texts differing only in their last characters (`seed#1`,
 * `seed#2`) land far apart. It reads `charCodeAt` in a loop: no encoding, no allocation, the same
 * number on every machine and version (the ring's placement depends on it: never change it
 * without a new ring version). For ASCII text (host:port, peer ids, hex task ids) the code units
 * are the bytes.
 */
export function ringHash (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
