import assert from 'node:assert/strict'

describe('public API', () => {
  it('is importable as `verity-blobs` (the package name) from the repository root', async () => {
    const name = 'verity-blobs' // a variable, so the type checker does not need the build to exist
    const api = await import(name) as Record<string, unknown>
    for (const key of ['blake3', 'computeOutboard', 'encodeRanges', 'decodeRanges', 'ChunkRanges', 'GROUP_LOG', 'CHUNK_SIZE', 'OutboardBuilder', 'BaoTree', 'LeafHashMismatch',
      'createNode', 'Remote', 'ConnectionPool', 'BlobTicket', 'InvalidTicket', 'InvalidPeer', 'Permission', 'RateLimited', 'Internal', 'NotFound', 'AtInitial', 'IROH_PROTOCOL']) {
      assert.ok(key in api, `verity-blobs exports ${key}`)
    }
    const blake3 = api.blake3 as (b: Uint8Array) => Uint8Array
    assert.equal(Buffer.from(blake3(new Uint8Array(0))).toString('hex'), api.EMPTY_HASH_HEX)
  })
})
