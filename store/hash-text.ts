import { hashArg } from './bao/validate.js'

/** 64 lowercase hex characters. */
export function toHex (hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.length).toString('hex')
}

/** Parses 64 hex characters (any case); TypeError or RangeError naming `name` otherwise. */
export function fromHex (text: string, name = 'hash'): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`${name} must be a string, got ${typeof text}`)
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new RangeError(`${name} must be 64 hex characters, got ${JSON.stringify(text.slice(0, 80))}`)
  return hashArg(name, Uint8Array.from(Buffer.from(text, 'hex')))
}
