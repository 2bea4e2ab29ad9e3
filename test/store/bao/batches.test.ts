import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GROUP_SIZE, PAIR_SIZE } from '../../../store/bao/constants.js'
import { encodeBatches, encodeRanges } from '../../../store/bao/encode.js'
import { computeOutboard } from '../../../store/bao/outboard.js'
import { WALK_BATCH_BUFFERS, WALK_BATCH_BYTES, walkValidated, walkValidatedBatches, type WalkItem } from '../../../store/bao/validated-walk.js'
import { FsStore } from '../../../store/fs-store.js'
import { MemStore } from '../../../store/mem-store.js'
import type { AbortOptions } from '../../../store/interface.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { collect, concat, flip, randomBytes, rejection } from '../../helpers.js'

/** Bytes an item carries, as the walk counts them. */
const weight = (item: WalkItem): number => item.type === 'data' ? item.data.length : PAIR_SIZE

describe('batched walk and encoding (the provider\'s path)', () => {
  const size = 3 * (1 << 20) + 5000
  const data = randomBytes(size, 7)
  const { hash, outboard } = computeOutboard(data)
  const rangesToTry = [ChunkRanges.all(), ChunkRanges.range(10, 20), ChunkRanges.range(100, 900).union(ChunkRanges.from(3000)), ChunkRanges.lastChunk(), ChunkRanges.empty()]

  it('yields the items of walkValidated in the same order, about 256 KiB a batch', async () => {
    for (const ranges of rangesToTry) {
      const blob = { hash, size, data, pairs: outboard }
      const batches = await collect(walkValidatedBatches(blob, ranges))
      assert.deepEqual(batches.flat(), await collect(walkValidated(blob, ranges)), ranges.toString())
      for (const [i, batch] of batches.entries()) {
        const bytes = batch.reduce((sum, item) => sum + weight(item), 0)
        assert.ok(batch.length > 0)
        // Each batch but the last reached the size with its last item, and not before.
        if (i < batches.length - 1) assert.ok(bytes >= WALK_BATCH_BYTES && bytes - weight(batch[batch.length - 1] as WalkItem) < WALK_BATCH_BYTES, `batch ${i}: ${bytes}`)
      }
      if (ranges.equals(ChunkRanges.all())) assert.ok(batches.length >= 12, `${batches.length} batches for 3 MiB`)
    }
  })

  it('encodes the same bytes as encodeRanges, the size header first', async () => {
    for (const ranges of rangesToTry) {
      const options = { hash, size, data, outboard, ranges }
      const batches = await collect(encodeBatches(options))
      assert.deepEqual(concat(batches.flat()), concat(await collect(encodeRanges(options))), ranges.toString())
      assert.equal(batches[0]?.[0]?.length, 8)
    }
  })

  it('on corruption yields every item checked before it, then throws, and nothing after', async () => {
    const bad = data.slice()
    const badGroup = 37 // in the third batch
    flip(bad, badGroup * GROUP_SIZE + 3)
    const seen: WalkItem[][] = []
    const err = await rejection(async () => {
      for await (const batch of walkValidatedBatches({ hash, size, data: bad, pairs: outboard }, ChunkRanges.all())) seen.push(batch)
    })
    assert.equal(err.name, 'LeafHashMismatch')
    const leaves = seen.flat().filter(item => item.type === 'data')
    assert.equal(leaves.length, badGroup, 'groups 0..36 and nothing of 37')
    assert.equal(leaves[leaves.length - 1]?.offset, (badGroup - 1) * GROUP_SIZE)
    for (const leaf of leaves) if (leaf.type === 'data') assert.deepEqual(leaf.data, data.subarray(leaf.offset, leaf.offset + leaf.data.length))
    assert.ok(seen.length >= 3, `${seen.length} batches, the last one short`)

    // The encoder sends the same valid prefix: the bytes before the error are a prefix of the good encoding.
    const good = concat(await collect(encodeRanges({ hash, size, data, outboard, ranges: ChunkRanges.all() })))
    const sent: Uint8Array[] = []
    const err2 = await rejection(async () => {
      for await (const batch of encodeBatches({ hash, size, data: bad, outboard, ranges: ChunkRanges.all() })) sent.push(...batch)
    })
    assert.equal(err2.name, 'LeafHashMismatch')
    const prefix = concat(sent)
    assert.deepEqual(prefix, good.subarray(0, prefix.length))
    assert.deepEqual(prefix.subarray(prefix.length - GROUP_SIZE), data.subarray((badGroup - 1) * GROUP_SIZE, badGroup * GROUP_SIZE))
  })

  it('a walk that fails at once still sends the size header (a partial blob with none of the range)', async () => {
    const present = ChunkRanges.empty()
    const sent: Uint8Array[] = []
    const err = await rejection(async () => {
      for await (const batch of encodeBatches({ hash, size, data, outboard, present, ranges: ChunkRanges.from(2000) })) sent.push(...batch)
    })
    assert.equal(err.name, 'MissingRange')
    assert.equal(sent.length, 1)
    assert.equal(sent[0]?.length, 8)
  })

  it('a batch is cut before it holds views of more than WALK_BATCH_BUFFERS read windows (a stalled requester holds its batch)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-batches-'))
    try {
      const store = await FsStore.open(dir)
      const big = randomBytes(8 << 20, 8)
      const { hash: bigHash } = await store.addBytes(big)
      // One chunk from every 256 KiB window: each item is a view of its own window.
      let scattered = ChunkRanges.empty()
      for (let chunk = 0; chunk < (8 << 20) / 1024; chunk += 256) scattered = scattered.union(ChunkRanges.range(chunk, chunk + 1))
      let most = 0
      const copied: Uint8Array[] = [] // each batch copied before the next is asked for, as its contract says
      for await (const batch of (store.exportBaoBatches as NonNullable<FsStore['exportBaoBatches']>)(bigHash, scattered, { transient: true })) {
        const viewed = new Set(batch.filter(slice => slice.buffer.byteLength > slice.byteLength).map(slice => slice.buffer))
        most = Math.max(most, viewed.size)
        assert.ok(viewed.size <= WALK_BATCH_BUFFERS, `a batch holds views of ${viewed.size} buffers`)
        copied.push(...batch.map(slice => slice.slice()))
      }
      assert.equal(most, WALK_BATCH_BUFFERS, 'the bound is reached, not avoided by luck')
      const good = await collect(store.exportBao(bigHash, scattered))
      assert.deepEqual(concat(copied), concat(good))
      await store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('transient batches from a file come from two reused windows and carry the same bytes, complete or partial blob; batches by default are the caller\'s to keep', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-batches-'))
    try {
      const store = await FsStore.open(dir)
      const big = randomBytes((8 << 20) + 4321, 11)
      const { hash: bigHash } = await store.addBytes(big)
      const shapes = [ChunkRanges.all(), ChunkRanges.range(100, 5000), ChunkRanges.range(0, 1).union(ChunkRanges.range(4000, 4100)).union(ChunkRanges.from(8000))]
      for (let i = 0; i < 24; i++) shapes.push(ChunkRanges.range(i * 331 % 8000, i * 331 % 8000 + 1 + i * 97))
      for (const ranges of shapes) {
        const dataBuffers = new Set<ArrayBufferLike>()
        const copied: Uint8Array[] = []
        for await (const batch of (store.exportBaoBatches as NonNullable<FsStore['exportBaoBatches']>)(bigHash, ranges, { transient: true })) {
          for (const slice of batch) if (slice.length >= 1024) dataBuffers.add(slice.buffer)
          copied.push(...batch.map(slice => slice.slice()))
        }
        const good = concat(await collect(store.exportBao(bigHash, ranges)))
        assert.deepEqual(concat(copied), good, ranges.toString())
        assert.ok(dataBuffers.size <= 2, `${dataBuffers.size} buffers held the data of ${ranges.toString()}`)
        // Without `transient`, batches may be kept: all of them read after the walk ended.
        const kept = await collect((store.exportBaoBatches as NonNullable<FsStore['exportBaoBatches']>)(bigHash, ranges))
        assert.deepEqual(concat(kept.flat()), good, `kept batches of ${ranges.toString()}`)
      }
      // A partial blob: the present groups are read into the windows, the rest is MissingRange after the valid prefix.
      const partialStore = await FsStore.open(join(dir, 'partial'))
      const fromFull = concat(await collect(store.exportBao(bigHash, ChunkRanges.range(0, 3000).union(ChunkRanges.range(5000, 6000)))))
      await partialStore.importBao(bigHash, ChunkRanges.range(0, 3000).union(ChunkRanges.range(5000, 6000)), (async function * () { yield fromFull })())
      const copied: Uint8Array[] = []
      const err = await rejection(async () => {
        for await (const batch of (partialStore.exportBaoBatches as NonNullable<FsStore['exportBaoBatches']>)(bigHash, ChunkRanges.all(), { transient: true })) copied.push(...batch.map(slice => slice.slice()))
      })
      assert.equal(err.name, 'MissingRange')
      const sent: Uint8Array[] = []
      await rejection(async () => { for await (const piece of partialStore.exportBao(bigHash, ChunkRanges.all())) sent.push(piece) })
      assert.deepEqual(concat(copied), concat(sent))
      assert.ok(concat(copied).length > 3000 * 1024)
      await partialStore.close()
      await store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a transient walk yields its batch before it fills a window the batch views again (pairs that are no views)', async () => {
    // Pairs read as fresh copies: only the windows are views, so only the check before a fill
    // keeps a batch from holding groups of a window filled again since.
    const source = { readAt: (offset: number, length: number) => data.slice(offset, offset + length), readInto: (offset: number, target: Uint8Array) => { const part = data.subarray(offset, offset + target.length); target.set(part); return part.length } }
    const pairs = { readPair: (_node: number, index: number) => outboard.slice(index * PAIR_SIZE, (index + 1) * PAIR_SIZE) }
    let ranges = ChunkRanges.empty()
    for (let chunk = 0; chunk < size / 1024; chunk += 300) ranges = ranges.union(ChunkRanges.range(chunk, chunk + 1))
    let batches = 0
    for await (const batch of walkValidatedBatches({ hash, size, data: source, pairs }, ranges, undefined, { transient: true })) {
      batches++
      for (const item of batch) {
        if (item.type === 'data') assert.deepEqual(item.data, data.subarray(item.offset, item.offset + item.data.length), `group at ${item.offset}, batch ${batches}`)
      }
    }
    assert.ok(batches > 3, `${batches} batches`)
  })

  it('transient walks of random shapes: every batch holds the right bytes when it is handed out (pairs that are no views, group logs 2 to 6)', async () => {
    let seed = 99
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
    for (let round = 0; round < 40; round++) {
      const groupLog = 2 + rnd(5)
      const blobSize = 20000 + rnd(3 << 20)
      const blob = data.length >= blobSize ? data.subarray(0, blobSize) : randomBytes(blobSize, round)
      const { hash: h, outboard: ob } = computeOutboard(blob, { groupLog })
      const source = { readAt: (offset: number, length: number) => blob.slice(offset, offset + length), readInto: (offset: number, target: Uint8Array) => { const part = blob.subarray(offset, offset + target.length); target.set(part); return part.length } }
      const fresh = { readPair: (_node: number, index: number) => ob.slice(index * PAIR_SIZE, (index + 1) * PAIR_SIZE) }
      const chunks = Math.ceil(blobSize / 1024)
      let ranges = ChunkRanges.empty()
      for (let i = 1 + rnd(20); i > 0; i--) { const start = rnd(chunks); ranges = ranges.union(ChunkRanges.range(start, start + 1 + rnd(rnd(2) === 0 ? 4 : 400))) }
      const batchBytes = [1024, 65536, 1 << 20][rnd(3)] as number
      let leaves = 0
      for await (const batch of walkValidatedBatches({ hash: h, size: blobSize, data: source, pairs: fresh, groupLog }, ranges, undefined, { transient: true, batchBytes })) {
        for (const item of batch) {
          if (item.type !== 'data') continue
          leaves++
          assert.deepEqual(item.data, blob.subarray(item.offset, item.offset + item.data.length), `round ${round}: group at ${item.offset}`)
        }
      }
      assert.ok(leaves > 0)
    }
  })

  it('reads from an FsStore are plain Uint8Arrays whose buffer shows no memory but the file\'s (zeros past its end)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-batches-'))
    try {
      const store = await FsStore.open(dir)
      const small = randomBytes(20000 + 16384 * 2, 9) // beyond the inline limit: read from its file
      const { hash: smallHash } = await store.addBytes(small)
      for await (const piece of store.reader(smallHash)) {
        assert.equal(Object.getPrototypeOf(piece), Uint8Array.prototype)
        const whole = new Uint8Array(piece.buffer)
        const end = piece.byteOffset + piece.byteLength
        assert.ok(whole.subarray(0, piece.byteOffset).every((b, i) => b === small[i]), 'before the piece: the file')
        assert.ok(whole.subarray(small.length).every(b => b === 0), 'past the file: zeros')
        assert.ok(end <= small.length)
      }
      await store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('after the signal aborts, nothing more is yielded', async () => {
    const controller = new AbortController()
    let reads = 0
    const slowData = {
      readAt: async (offset: number, length: number): Promise<Uint8Array> => {
        if (++reads === 20) controller.abort(new Error('gone'))
        return data.subarray(offset, offset + length)
      }
    }
    const seen: WalkItem[][] = []
    const err = await rejection(async () => {
      for await (const batch of walkValidatedBatches({ hash, size, data: slowData, pairs: outboard }, ChunkRanges.all(), controller.signal)) seen.push(batch)
    })
    assert.equal(err.message, 'gone')
    const leaves = seen.flat().filter(item => item.type === 'data').length
    assert.ok(leaves < 20, `${leaves} groups yielded, none read after the abort`)
    assert.equal(leaves, 16, 'the full batch before it went out, the partial one did not')
  })

  it('a store subclass that overrides exportBao is served through it', async () => {
    class Stamped extends MemStore {
      override async * exportBao (h: Uint8Array, ranges: ChunkRanges, options?: AbortOptions): AsyncGenerator<Uint8Array> {
        for await (const piece of super.exportBao(h, ranges, options)) yield piece
        yield new Uint8Array([1, 2, 3])
      }
    }
    const store = new Stamped()
    const { hash: h } = await store.addBytes(randomBytes(100000, 10))
    const batches = await collect((store.exportBaoBatches as NonNullable<MemStore['exportBaoBatches']>)(h, ChunkRanges.all()))
    assert.deepEqual(concat(batches.flat()), concat(await collect(store.exportBao(h, ChunkRanges.all()))))
    assert.deepEqual([...(batches[batches.length - 1]?.[0] ?? [])], [1, 2, 3])
  })
})
