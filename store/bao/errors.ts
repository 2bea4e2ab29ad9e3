/**
 * Named errors of the hash tree. Callers tell them apart by `err.name`. The decoder raises them
 * for bad bytes from a peer; the encoder raises the same classes for local data that does not
 * match its outboard (with `local: true`), which it refuses to send.
 */

/** A 64-byte parent pair does not hash to the chaining value its parent promised. */
export class ParentHashMismatch extends Error {
  static override name = 'ParentHashMismatch'
  constructor (
    /** First chunk (inclusive) and end chunk (exclusive) covered by the failing node. */
    readonly startChunk: number,
    readonly endChunk: number,
    readonly local = false,
    message = `${local ? 'local outboard' : 'parent pair'} for chunks ${startChunk}..${endChunk} does not match its hash`
  ) {
    super(message)
    this.name = 'ParentHashMismatch'
  }
}

/** Leaf data does not hash to the chaining value its parent promised. */
export class LeafHashMismatch extends Error {
  static override name = 'LeafHashMismatch'
  constructor (
    /** Byte offset and length of the failing data within the blob. */
    readonly offset: number,
    readonly length: number,
    readonly local = false,
    message = `${local ? 'local data' : 'data'} at bytes ${offset}..${offset + length} does not match its hash`
  ) {
    super(message)
    this.name = 'LeafHashMismatch'
  }
}

/** The encoded stream ended before the item it was in the middle of. */
export class UnexpectedEnd extends Error {
  static override name = 'UnexpectedEnd'
  constructor (
    /** Bytes of the encoded stream read before it ended. */
    readonly position: number,
    /** Bytes the decoder still needed. */
    readonly needed: number,
    message = `encoded stream ended at byte ${position}, ${needed} more bytes expected`
  ) {
    super(message)
    this.name = 'UnexpectedEnd'
  }
}

/** A size that verity cannot handle (above 2^53 - 1) or that contradicts the data. */
export class InvalidSize extends Error {
  static override name = 'InvalidSize'
  constructor (readonly size: bigint | number, message = `invalid blob size ${size}`) {
    super(message)
    this.name = 'InvalidSize'
  }
}

/** Bytes follow a complete encoded stream where none were expected. */
export class TrailingData extends Error {
  static override name = 'TrailingData'
  constructor (readonly position: number, message = `unexpected bytes after the encoded stream at byte ${position}`) {
    super(message)
    this.name = 'TrailingData'
  }
}

/** A requested range is not present locally: what precedes it was produced, nothing after. */
export class MissingRange extends Error {
  static override name = 'MissingRange'
  constructor (
    /** First chunk (inclusive) and end chunk (exclusive) of the subtree that has none of the request. */
    readonly startChunk: number,
    readonly endChunk: number,
    message = `chunks ${startChunk}..${endChunk} are not present`
  ) {
    super(message)
    this.name = 'MissingRange'
  }
}
