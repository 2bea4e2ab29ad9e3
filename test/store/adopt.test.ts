import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { computeOutboard } from '../../store/bao/outboard.js'
import { FsStore } from '../../store/fs-store.js'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore } from '../../store/interface.js'
import { flip, randomBytes, rejection } from '../helpers.js'
import { storeKinds } from './store-fixtures.js'

/** A file holding `data`, outside any store. */
function fileOf (dir: string, name: string, data: Uint8Array): string {
  const path = join(dir, name)
  writeFileSync(path, data)
  return path
}

for (const kind of storeKinds()) {
  describe(`${kind.name}: adoptFileUnchecked (a file moved in on the caller's word for its hash)`, function () {
    this.timeout(60000)
    let store: BlobStore
    let dir: string
    beforeEach(async () => {
      store = await kind.make()
      dir = mkdtempSync(join(tmpdir(), 'verity-adopt-'))
    })
    afterEach(async () => {
      await store.close()
      kind.cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    it('takes files of every edge size, tagged, readable byte for byte, and removes them from where they were', async () => {
      for (const size of [0, 1, 16384, 16385, (1 << 20) + 7]) {
        const data = randomBytes(size, size + 3)
        const path = fileOf(dir, `f-${size}`, data)
        const result = await store.adoptFileUnchecked(path, computeOutboard(data), { tag: `t-${size}` })
        assert.equal(result.size, size)
        assert.equal(result.tag, `t-${size}`)
        assert.ok(Buffer.from(await store.getBytes(result.hash)).equals(data), `bytes of ${size}`)
        assert.equal((await store.verify(result.hash)).bad.isEmpty(), true, `verify ${size}`)
        assert.deepEqual(await store.tags.get(`t-${size}`), { hash: result.hash, format: 'raw' })
        assert.equal(existsSync(path), false, `${path} moved in`)
      }
    })

    it('refuses a size or outboard that cannot be the file\'s, and leaves the file', async () => {
      const data = randomBytes(40000, 9)
      const path = fileOf(dir, 'f', data)
      const hashed = computeOutboard(data)
      assert.equal((await rejection(() => store.adoptFileUnchecked(path, { ...hashed, size: 39999 }))).name, 'RangeError')
      assert.equal((await rejection(() => store.adoptFileUnchecked(path, { ...hashed, outboard: hashed.outboard.subarray(64) }))).name, 'RangeError')
      assert.equal(existsSync(path), true)
      assert.deepEqual(await store.status(hashed.hash), { status: 'absent' })
    })

    it('a blob already complete stays as it was, and the file is removed', async () => {
      const data = randomBytes(70000, 10)
      const { hash } = await store.addBytes(data)
      const path = fileOf(dir, 'again', data)
      const result = await store.adoptFileUnchecked(path, computeOutboard(data), { tag: false })
      assert.deepEqual(result.hash, hash)
      assert.equal(result.tag, undefined)
      assert.equal(existsSync(path), false)
      assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))
    })

    it('a false claim makes a blob that fails to read, never wrong bytes', async () => {
      const data = randomBytes(100000, 11)
      const hashed = computeOutboard(data)
      const lying = data.slice()
      flip(lying, 50000)
      const result = await store.adoptFileUnchecked(fileOf(dir, 'lie', lying), hashed)
      assert.equal((await rejection(() => store.getBytes(result.hash))).name, 'LeafHashMismatch')
      assert.equal((await store.verify(result.hash)).bad.isEmpty(), false)
    })
  })
}

describe('FsStore: adoptFileUnchecked renames on one file system, copies from another', function () {
  this.timeout(60000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'verity-adopt-fs-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('renames the file in (same inode), and the blob survives a reopen', async () => {
    const data = randomBytes(300000, 12)
    const path = fileOf(dir, 'staged', data)
    const inode = statSync(path).ino
    let store = await FsStore.open(join(dir, 'store'))
    const { hash } = await store.adoptFileUnchecked(path, computeOutboard(data))
    const stored = join(dir, 'store', 'data', `${toHex(hash)}.data`)
    assert.equal(statSync(stored).ino, inode, 'moved, not copied')
    await store.close()
    store = await FsStore.open(join(dir, 'store'))
    assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))
    await store.close()
  })

  it('copies a file from another file system (/dev/shm) through temp/, then removes it', async function () {
    if (!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(dir).dev) this.skip()
    const shm = mkdtempSync(join('/dev/shm', 'verity-adopt-'))
    try {
      const data = randomBytes(200000, 13)
      const path = fileOf(shm, 'staged', data)
      const store = await FsStore.open(join(dir, 'store'))
      const { hash } = await store.adoptFileUnchecked(path, computeOutboard(data))
      assert.equal(existsSync(path), false)
      assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))
      assert.deepEqual(readdirSync(join(dir, 'store', 'temp')), [])
      await store.close()
    } finally {
      rmSync(shm, { recursive: true, force: true })
    }
  })
})
