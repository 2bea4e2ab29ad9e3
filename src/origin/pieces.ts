import { GROUP_SIZE } from '../../store/bao/constants.js'
import type { ByteRange } from './interface.js'

const MB = 1024 * 1024

/**
 * Dragonfly's piece size for a file of `total` bytes: 4 MB below 200 MB, else total / 100 MB + 2 MB
 * (in whole MB, as Dragonfly divides integers), at most 15 MB; rounded up to a multiple of the
 * 16 KiB group, the unit a piece is verified in (MB = 2^20 bytes).
 */
export function defaultPieceSize (total: number): number {
  sizeArg('total', total)
  if (total < 200 * MB) return 4 * MB
  return Math.min(Math.floor(total / (100 * MB)) * MB + 2 * MB, 15 * MB)
}

/** `pieceSize` rounded up to a whole number of 16 KiB groups (at least one). */
export function groupAligned (pieceSize: number): number {
  sizeArg('pieceSize', pieceSize)
  return Math.max(1, Math.ceil(pieceSize / GROUP_SIZE)) * GROUP_SIZE
}

/** The pieces of a file of `total` bytes: consecutive ranges of `pieceSize`, the last one shorter. */
export function piecesOf (total: number, pieceSize: number): ByteRange[] {
  sizeArg('total', total)
  if (!(Number.isSafeInteger(pieceSize) && pieceSize > 0)) throw new RangeError(`pieceSize must be a positive integer, got ${pieceSize}`)
  const pieces: ByteRange[] = []
  for (let offset = 0; offset < total; offset += pieceSize) pieces.push({ offset, length: Math.min(pieceSize, total - offset) })
  return pieces
}

function sizeArg (name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
  if (!(Number.isSafeInteger(value) && value >= 0)) throw new RangeError(`${name} must be a non-negative integer, got ${value}`)
  return value
}
