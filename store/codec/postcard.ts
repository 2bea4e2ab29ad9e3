import { MalformedMessage } from './errors.js'
import { atMost, readVarint } from './varint.js'

const U64_MAX = (1n << 64n) - 1n

/** Appends postcard values (LEB128 varints, raw bytes) to a growing buffer. */
export class PostcardWriter {
  private buffer = new Uint8Array(64)
  private length = 0

  /** An unsigned varint: a number (safe integer) or a bigint up to u64::MAX. */
  varint (value: number | bigint): this {
    let v = BigInt(value)
    if (v < 0n || v > U64_MAX) throw new RangeError(`varint must be within u64, got ${value}`)
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError(`varint must be a safe integer, got ${value}`)
    }
    this.reserve(10)
    do {
      let byte = Number(v & 0x7fn)
      v >>= 7n
      if (v !== 0n) byte |= 0x80
      this.buffer[this.length++] = byte
    } while (v !== 0n)
    return this
  }

  byte (value: number): this {
    this.reserve(1)
    this.buffer[this.length++] = value
    return this
  }

  bytes (value: Uint8Array): this {
    this.reserve(value.length)
    this.buffer.set(value, this.length)
    this.length += value.length
    return this
  }

  finish (): Uint8Array {
    return this.buffer.slice(0, this.length)
  }

  private reserve (extra: number): void {
    if (this.length + extra <= this.buffer.length) return
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra))
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
  }
}

/** Reads postcard values from a buffer; every failure is a MalformedMessage. */
export class PostcardReader {
  offset = 0

  constructor (private readonly bytes: Uint8Array) {}

  get remaining (): number {
    return this.bytes.length - this.offset
  }

  /** An unsigned varint of at most 10 bytes whose value fits in u64. */
  bigVarint (): bigint {
    const read = readVarint(this.bytes, this.offset)
    if (read === undefined) throw new MalformedMessage(`message ends at byte ${this.bytes.length}, inside a varint`)
    this.offset = read.next
    return read.value
  }

  /** A varint that must be at most `max` (a safe integer). */
  varint (max: number = Number.MAX_SAFE_INTEGER): number {
    return atMost(this.bigVarint(), max)
  }

  byte (): number {
    if (this.offset >= this.bytes.length) throw new MalformedMessage(`message ends at byte ${this.offset}`)
    return this.bytes[this.offset++] as number
  }

  take (length: number): Uint8Array {
    if (length > this.remaining) {
      throw new MalformedMessage(`message ends at byte ${this.bytes.length}, ${length} bytes wanted at ${this.offset}`)
    }
    const view = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return view
  }
}
