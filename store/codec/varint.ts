import { MalformedMessage } from './errors.js'

const U64_MAX = (1n << 64n) - 1n

/**
 * The one reader of unsigned LEB128 varints (postcard, request lengths, frame headers, Observe
 * messages). Fed a byte at a time, it tells the three cases apart that a reader of a stream needs:
 * a value (complete), nothing yet (the bytes ended inside it: more are needed), or
 * MalformedMessage (longer than `maxBytes`, or past u64).
 */
export class VarintDecoder {
  private value = 0n
  private count = 0

  /** `what` names the value in errors; `maxBytes` is the most bytes it may take (10 for a u64). */
  constructor (private readonly what = 'varint', private readonly maxBytes = 10) {}

  /** Whether a varint has begun and not ended (a stream that stops now ends inside it). */
  get inside (): boolean {
    return this.count > 0
  }

  /** Take one byte: the value when it completes the varint, else undefined. */
  push (byte: number): bigint | undefined {
    this.value |= BigInt(byte & 0x7f) << BigInt(7 * this.count)
    this.count++
    if ((byte & 0x80) !== 0) {
      if (this.count >= this.maxBytes) throw new MalformedMessage(`${this.what} longer than ${this.maxBytes} bytes`)
      return undefined
    }
    const value = this.value
    this.value = 0n
    this.count = 0
    if (value > U64_MAX) throw new MalformedMessage(`${this.what} overflows u64`)
    return value
  }
}

/**
 * A varint from `bytes` at `at`: the value and where the next byte is, or undefined when the bytes
 * end inside it. MalformedMessage when it is longer than `maxBytes` or past u64.
 */
export function readVarint (bytes: Uint8Array, at: number, what = 'varint', maxBytes = 10): { value: bigint, next: number } | undefined {
  const decoder = new VarintDecoder(what, maxBytes)
  for (let i = at; i < bytes.length; i++) {
    const value = decoder.push(bytes[i] as number)
    if (value !== undefined) return { value, next: i + 1 }
  }
  return undefined
}

/** `value` as a number, or MalformedMessage when it is above `max` (a safe integer). */
export function atMost (value: bigint, max: number, what = 'value'): number {
  if (value > BigInt(max)) throw new MalformedMessage(`${what} ${value} is above the limit ${max}`)
  return Number(value)
}
