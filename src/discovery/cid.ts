import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { hashArg } from '../../store/bao/validate.js'

/** The multicodec of raw bytes: a blob's CID says "these bytes", not a structure. */
export const RAW_CODEC = 0x55

/** The multihash code of BLAKE3 (32-byte digests, the blob's hash as it is). */
export const BLAKE3_MULTIHASH = 0x1e

/**
 * The DHT key of a blob: CIDv1, raw codec, BLAKE3 multihash of its 32-byte hash. A collection is
 * keyed by its HashSeq's hash the same way (the codec stays raw: the key names bytes; how to read
 * them is the ticket's or the caller's business, as with a bare hash).
 */
export function blobCid (hash: Uint8Array): CID {
  return CID.createV1(RAW_CODEC, createDigest(BLAKE3_MULTIHASH, hashArg('hash', hash)))
}

/** The blob hash a CID names, or undefined when it is not a raw BLAKE3 CIDv1 of 32 bytes. */
export function hashOfCid (cid: CID): Uint8Array | undefined {
  if (cid.version !== 1 || cid.code !== RAW_CODEC || cid.multihash.code !== BLAKE3_MULTIHASH || cid.multihash.digest.length !== 32) return undefined
  return cid.multihash.digest
}
