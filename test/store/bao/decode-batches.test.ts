import assert from 'node:assert/strict'
import { ByteReader } from '../../../store/bao/byte-reader.js'
import { CHUNK_SIZE, GROUP_SIZE } from '../../../store/bao/constants.js'
import { DECODE_BATCH_BYTES, decodeRangesBatches, type DecodedItem } from '../../../store/bao/decode.js'
import { encodeRanges } from '../../../store/bao/encode.js'
import { computeOutboard } from '../../../store/bao/outboard.js'
import { PortableCore } from '../../../store/bao/portable-core.js'
import { walkValidated } from '../../../store/bao/validated-walk.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { collect, concat, flip, randomBytes, sliced } from '../../helpers.js'

/** A blob, its hash and the encoding of `ranges` of it. */
async function encoded (size: number, ranges = ChunkRanges.all()): Promise<{ data: Uint8Array, hash: Uint8Array, encoding: Uint8Array }> {
  const data = randomBytes(size, size)
  const { hash, outboard } = computeOutboard(data)
  return { data, hash, encoding: concat(await collect(encodeRanges({ hash, size, data, outboard, ranges }))) }
}

/** `bytes` in slices of `size` bytes. */
function slices (bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  return sliced(bytes, Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => (i + 1) * size))
}

/** The leaf items of `items`, their bytes checked against `data` now. */
function checkedLeaves (items: DecodedItem[], data: Uint8Array): Array<{ offset: number, length: number }> {
  const leaves: Array<{ offset: number, length: number }> = []
  for (const item of items) {
    if (item.type !== 'leaf') continue
    assert.deepEqual(item.data, data.subarray(item.offset, item.offset + item.data.length), `leaf at ${item.offset}`)
    leaves.push({ offset: item.offset, length: item.data.length })
  }
  return leaves
}

describe('decodeRangesBatches: the decoder in batches', function () {
  this.timeout(60000)

  it('yields the size alone first, then the items decodeRanges yields, in order, in batches of about DECODE_BATCH_BYTES', async () => {
    const size = 3 * 1024 * 1024 + 1000
    const { data, hash, encoding } = await encoded(size)
    const batches = await collect(decodeRangesBatches(hash, ChunkRanges.all(), [encoding]))
    assert.deepEqual(batches[0], [{ type: 'size', size }])
    const items = batches.flat()
    // The order the encoding has, from the sender's walk (not from decodeRanges: it is these batches).
    const { outboard } = computeOutboard(data)
    const walked = await collect(walkValidated({ hash, size, data, pairs: outboard }, ChunkRanges.all()))
    assert.deepEqual(items.slice(1).map(i => i.type === 'leaf' ? ['data', i.offset, i.data.length] : i.type === 'size' ? ['size'] : ['pair', ...i.pair]),
      walked.map(i => i.type === 'data' ? ['data', i.offset, i.data.length] : ['pair', ...i.pair]))
    assert.equal(checkedLeaves(items, data).reduce((sum, leaf) => sum + leaf.length, 0), size)
    for (const batch of batches.slice(1)) {
      const bytes = batch.reduce((sum, item) => sum + (item.type === 'leaf' ? item.data.length : 64), 0)
      assert.ok(bytes < DECODE_BATCH_BYTES + GROUP_SIZE, `a batch of ${bytes} bytes`)
    }
    assert.ok(batches.length < 20, `${batches.length} batches for 3 MiB`)
  })

  it('hands out what verified before it waits for more of the source', async () => {
    const { data, hash, encoding } = await encoded(1024 * 1024)
    let open: () => void = () => {}
    const gate = new Promise<void>(resolve => { open = resolve })
    let opened = false
    // Less than a batch's worth before the source stalls: only the wait can send it out.
    const cut = DECODE_BATCH_BYTES >> 1
    const source = (async function * () {
      yield encoding.subarray(0, cut)
      await gate
      opened = true
      yield encoding.subarray(cut)
    })()
    const batches = decodeRangesBatches(hash, ChunkRanges.all(), source)[Symbol.asyncIterator]()
    await batches.next() // the size
    const stalled = new Promise<'stalled'>(resolve => setTimeout(() => resolve('stalled'), 2000))
    const first = await Promise.race([batches.next(), stalled])
    assert.notEqual(first, 'stalled', 'the decoder held verified items while it waited on the source')
    assert.equal(opened, false)
    const leaves = checkedLeaves((first as IteratorResult<DecodedItem[]>).value as DecodedItem[], data)
    assert.ok(leaves.length > 0)
    open()
    let bytes = leaves.reduce((sum, leaf) => sum + leaf.length, 0)
    for (let next = await batches.next(); next.done !== true; next = await batches.next()) {
      bytes += checkedLeaves(next.value, data).reduce((sum, leaf) => sum + leaf.length, 0)
    }
    assert.equal(bytes, data.length)
  })

  it('transient leaves gathered across slices are valid until the next batch is asked for', async () => {
    // Slices that never hold a whole group: every leaf is gathered in the reader's one buffer.
    for (const sliceSize of [1000, 6000, 16383, 20000]) {
      const { data, hash, encoding } = await encoded(700 * 1024 + 5, ChunkRanges.from(3))
      let bytes = 0
      for await (const batch of decodeRangesBatches(hash, ChunkRanges.from(3), slices(encoding, sliceSize), { transient: true })) {
        bytes += checkedLeaves(batch, data).reduce((sum, leaf) => sum + leaf.length, 0)
      }
      assert.equal(bytes, data.length - 3 * CHUNK_SIZE, `slices of ${sliceSize}`)
    }
  })

  it('gives the event loop turns while it decodes bytes already in memory', async () => {
    // The portable core hashes slowly enough that 16 MiB takes well over 10 ms anywhere: the
    // decoder must look at the clock every batch (a look every 32 batches saw 8 MiB go by).
    const core = new PortableCore()
    const size = 16 * 1024 * 1024
    const data = randomBytes(size, 5)
    const { hash, outboard } = computeOutboard(data, { core })
    const encoding = concat(await collect(encodeRanges({ hash, size, data, outboard, ranges: ChunkRanges.all(), core })))
    let turns = 0
    let done = false
    const tick = (): void => { if (!done) { turns++; setImmediate(tick) } }
    setImmediate(tick)
    const started = performance.now()
    let bytes = 0
    for await (const batch of decodeRangesBatches(hash, ChunkRanges.all(), [encoding], { core })) {
      for (const item of batch) if (item.type === 'leaf') bytes += item.data.length
    }
    const elapsed = performance.now() - started
    done = true
    assert.equal(bytes, size)
    assert.ok(turns >= Math.min(4, Math.floor(elapsed / 40)), `${turns} turns in ${elapsed.toFixed(0)} ms`)
  })

  it('on a bad group, the groups verified before it are yielded, then the error is thrown', async () => {
    const { data, hash, encoding } = await encoded(64 * GROUP_SIZE)
    // The encoding is 8 bytes of size, then pairs and groups in pre-order: find group 21's bytes.
    const group = 21
    const tampered = encoding.slice()
    const at = findGroup(encoding, data, group)
    flip(tampered, at + 100)
    const leaves: Array<{ offset: number, length: number }> = []
    await assert.rejects(async () => {
      // One slice: every group before the bad one is in the batch the error cuts short.
      for await (const batch of decodeRangesBatches(hash, ChunkRanges.all(), [tampered])) leaves.push(...checkedLeaves(batch, data))
    }, { name: 'LeafHashMismatch' })
    assert.deepEqual(leaves.map(leaf => leaf.offset), Array.from({ length: group }, (_, i) => i * GROUP_SIZE))
  })
})

/** Where group `index`'s bytes begin in `encoding` (they are `data`'s, found by content). */
function findGroup (encoding: Uint8Array, data: Uint8Array, index: number): number {
  const bytes = data.subarray(index * GROUP_SIZE, (index + 1) * GROUP_SIZE)
  for (let at = 0; at + bytes.length <= encoding.length; at++) {
    if (encoding[at] === bytes[0] && Buffer.from(encoding.buffer, encoding.byteOffset + at, bytes.length).equals(bytes)) return at
  }
  throw new Error(`group ${index} is not in the encoding`)
}

describe('ByteReader: views where the bytes lie in one slice', function () {
  it('a read that starts where a slice starts is a view of it, take() reads only what is at hand', async () => {
    const a = randomBytes(100, 1)
    const b = randomBytes(300, 2)
    const reader = new ByteReader([a, b])
    assert.equal(reader.take(1), undefined, 'no slice is at hand before the first read')
    assert.equal((await reader.read(10)).buffer, a.buffer)
    assert.equal(reader.take(91), undefined, 'take() past the slice at hand')
    assert.equal(reader.position, 10)
    const first = reader.take(50) as Uint8Array
    assert.equal(first.buffer, a.buffer)
    assert.deepEqual(first, a.subarray(10, 60))
    assert.deepEqual(await reader.read(40), a.subarray(60))
    assert.equal(reader.take(1), undefined, 'the slice at hand is used up: take() does not wait for the next')
    const second = await reader.read(300)
    assert.equal(second.buffer, b.buffer, 'read at a slice boundary copied')
    assert.deepEqual(second, b)
    assert.equal(reader.position, 400)
    assert.equal(await reader.atEnd(), true)
  })
})
