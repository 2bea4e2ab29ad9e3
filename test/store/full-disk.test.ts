import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHUNK_SIZE } from '../../store/bao/constants.js'
import { FsStore } from '../../store/fs-store.js'
import { MemStore } from '../../store/mem-store.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { collect, concat, randomBytes, rejection } from '../helpers.js'
import { TmpfsFixture, type Tmpfs } from '../tmpfs.js'

/** Present chunk ranges as byte ranges of a blob of `size` bytes. */
function byteRanges (ranges: ChunkRanges, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const [start, end] of ranges.ranges()) out.push([start * CHUNK_SIZE, Math.min(size, end * CHUNK_SIZE)])
  return out
}

/**
 * `source` with a pause (a timer) between pieces, as from a network: the import then waits on the
 * stream while earlier batches are written, which is when a failed write went unhandled.
 */
async function * network (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const piece of source) {
    await new Promise(resolve => setTimeout(resolve, 1))
    yield piece
  }
}

/** Every present byte of `hash` in `store` reads back (verified by the reader) equal to `data`. */
async function checkPresent (store: FsStore, hash: Uint8Array, data: Uint8Array): Promise<number> {
  const { ranges } = await store.bitfield(hash)
  let bytes = 0
  for (const [start, end] of byteRanges(ranges.canonicalize(data.length), data.length)) {
    const read = concat(await collect(store.reader(hash, { offset: start, length: end - start })))
    assert.ok(Buffer.from(read).equals(Buffer.from(data.subarray(start, end))), `bytes ${start}..${end}`)
    bytes += end - start
  }
  return bytes
}

describe('FsStore on a full, read-only tmpfs (real mounts; root only)', function () {
  this.timeout(30000)
  const tmpfs = new TmpfsFixture('8m')
  let disk: Tmpfs

  beforeEach(function () { disk = tmpfs.mount(this) })
  afterEach(() => { tmpfs.release() })

  /** An add that filled the disk: StoreFull, no temp file left, nothing rejected unhandled since. */
  async function assertFullAndClean (err: Error): Promise<void> {
    assert.equal(err.name, 'StoreFull', err.stack)
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.deepEqual(tmpfs.unhandled, [])
    assert.deepEqual(readdirSync(join(disk.dir, 'store', 'temp')), [])
  }

  it('an import that fills the disk fails with StoreFull, keeps every batch it recorded, and nothing rejects unhandled', async () => {
    const source = new MemStore()
    const data = randomBytes(12 * 1024 * 1024, 1)
    const { hash } = await source.addBytes(data)
    let store = await FsStore.open(join(disk.dir, 'store'))
    let kept: number
    try {
      const err = await rejection(() => store.importBao(hash, ChunkRanges.all(), network(source.exportBao(hash, ChunkRanges.all()))))
      assert.equal(err.name, 'StoreFull', err.stack)
      assert.ok((err as { path?: string }).path?.startsWith(disk.dir), (err as { path?: string }).path)
      assert.equal((await store.status(hash)).status, 'partial')
      kept = await checkPresent(store, hash, data)
      assert.ok(kept >= 4 * 1024 * 1024, `${kept} bytes recorded: at least the first 4 MiB batch`)
      // Still full: the next import is refused at once and changes nothing.
      const again = await rejection(() => store.importBao(hash, ChunkRanges.all(), source.exportBao(hash, ChunkRanges.all())))
      assert.equal(again.name, 'StoreFull')
      assert.equal(await checkPresent(store, hash, data), kept)
    } finally {
      await store.close()
    }
    store = await FsStore.open(join(disk.dir, 'store'))
    try {
      assert.equal(await checkPresent(store, hash, data), kept, 'what was recorded is durable and verifies')
    } finally {
      await store.close()
    }
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(tmpfs.unhandled, [])
  })

  it('an add from a stream that fills the disk fails with StoreFull, leaves no temp file, and nothing rejects unhandled', async () => {
    const store = await FsStore.open(join(disk.dir, 'store'))
    try {
      // 256 KiB pieces with a pause between them: a write fails while the add waits for the next piece.
      const pieces = async function * (): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 48; i++) {
          await new Promise(resolve => setTimeout(resolve, 20))
          yield randomBytes(256 * 1024, 100 + i)
        }
      }
      const err = await rejection(() => store.addStream(pieces()))
      await assertFullAndClean(err)
    } finally {
      await store.close()
    }
  })

  it('an addFile (copy) that fills the disk, with reads and writes in flight, fails with StoreFull, leaves no temp file, and nothing rejects unhandled', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'verity-full-disk-'))
    const store = await FsStore.open(join(disk.dir, 'store'))
    try {
      const file = join(outside, 'big.bin')
      writeFileSync(file, randomBytes(12 * 1024 * 1024, 3))
      const err = await rejection(() => store.addFile(file))
      await assertFullAndClean(err)
    } finally {
      await store.close()
      rmSync(outside, { recursive: true, force: true })
    }
  })

  it('on a disk another program filled to the last byte, writes to LevelDB go on and all survive a reopen (no torn log)', async () => {
    const dir = join(disk.dir, 'store')
    let store = await FsStore.open(dir)
    const { hash } = await store.addBytes(randomBytes(1000, 2), { tag: false })
    disk.fill()
    assert.equal(disk.free(), 0)
    try {
      // The first put fails in LevelDB's log (ENOSPC); the store lets its reserve go, reopens
      // LevelDB past the torn record and puts again. Without the reopen, LevelDB drops every
      // record after the torn one when it next opens.
      for (let i = 0; i < 300; i++) await store.tags.set(`tag-${String(i).padStart(3, '0')}`, { hash, format: 'raw' })
    } finally {
      await store.close()
    }
    store = await FsStore.open(dir)
    try {
      assert.equal((await collect(store.tags.list())).length, 300)
    } finally {
      await store.close()
    }
  })

  it('opens cold on a full disk (LevelDB replays its log into a table first) and can list, untag and collect garbage', async () => {
    const dir = join(disk.dir, 'store')
    let store = await FsStore.open(dir)
    const big = randomBytes(3 * 1024 * 1024, 3)
    const { hash } = await store.addBytes(big, { tag: 'big' })
    for (let i = 0; i < 200; i++) await store.tags.set(`extra-${i}`, { hash, format: 'raw' }) // a log to replay
    await store.close()
    disk.fill()
    store = await FsStore.open(dir)
    try {
      assert.equal((await collect(store.tags.list())).length, 201)
      assert.equal((await collect(store.list())).length, 1)
      assert.ok(Buffer.from(await store.getBytes(hash)).equals(Buffer.from(big)))
      const more = randomBytes(1024 * 1024, 4)
      const err = await rejection(() => store.addBytes(more))
      assert.equal(err.name, 'StoreFull', 'no room for blob bytes')
      for await (const { name } of store.tags.list()) await store.tags.delete(name)
      assert.deepEqual((await store.gc()).deleted.length, 1)
      await store.addBytes(more) // the room gc made: the reserve is taken again, then the blob written
      assert.ok(disk.free() < 3 * 1024 * 1024, `${disk.free()} bytes free: the reserve is back`)
    } finally {
      await store.close()
    }
  })

  it('a read-only file system gives StoreReadOnly naming the store, for a store there and for a new one', async () => {
    const dir = join(disk.dir, 'store')
    const store = await FsStore.open(dir)
    await store.addBytes(randomBytes(100, 5))
    await store.close()
    mkdirSync(join(disk.dir, 'empty'))
    disk.readOnly(true)
    try {
      const err = await rejection(() => FsStore.open(dir))
      assert.equal(err.name, 'StoreReadOnly', err.stack)
      assert.equal((err as { code?: string }).code, 'EROFS')
      assert.ok(err.message.includes(`the store in ${dir} cannot be opened`), err.message)
      assert.match(err.message, /no read-only mode/)
      const fresh = await rejection(() => FsStore.open(join(disk.dir, 'empty', 'new', 'store')))
      assert.equal(fresh.name, 'StoreReadOnly', fresh.stack)
      assert.equal((fresh as { path?: string }).path, join(disk.dir, 'empty', 'new'), 'the directory it could not make')
    } finally {
      disk.readOnly(false)
    }
  })
})
