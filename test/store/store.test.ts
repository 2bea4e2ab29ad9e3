import assert from 'node:assert/strict'
import { lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { CHUNK_SIZE } from '../../store/bao/constants.js'
import { decodeRanges } from '../../store/bao/decode.js'
import { blake3 } from '../../store/bao/hash.js'
import type { BlobStore } from '../../store/interface.js'
import { MemStore } from '../../store/mem-store.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { collect, concat, flip, randomBytes, rejection } from '../helpers.js'
import { storeKinds } from './store-fixtures.js'

const sizes = [0, 1, 1024, 16383, 16384, 16385, 100 * 1024, 5 * 1024 * 1024 + 7]

/** Verified bytes of `ranges` decoded from an export, as [offset, bytes] pairs. */
async function decodeExport (store: BlobStore, hash: Uint8Array, ranges: ChunkRanges): Promise<Array<[number, Uint8Array]>> {
  const out: Array<[number, Uint8Array]> = []
  for await (const item of decodeRanges(hash, ranges, store.exportBao(hash, ranges))) {
    if (item.type === 'leaf') out.push([item.offset, item.data.slice()])
  }
  return out
}

/** Move `ranges` of a blob from one store into another, through the encoded stream. */
async function transfer (from: BlobStore, to: BlobStore, hash: Uint8Array, ranges: ChunkRanges): Promise<void> {
  await to.importBao(hash, ranges, from.exportBao(hash, ranges))
}

/** Chunks [s, e) as a set, clipped at the blob's chunk count. */
function clipped (ranges: ChunkRanges, size: number): ChunkRanges {
  return ranges.canonicalize(size).intersection(ChunkRanges.to(Math.max(1, Math.ceil(size / CHUNK_SIZE))))
}

for (const kind of storeKinds()) {
  describe(`${kind.name}: the shared store suite`, function () {
    this.timeout(120000)
    let store: BlobStore
    beforeEach(async () => { store = await kind.make() })
    afterEach(async () => { await store.close(); kind.cleanup() })

    it('adds, reads, exports and re-imports blobs of every edge size', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'verity-export-'))
      try {
        for (const size of sizes) {
          const data = randomBytes(size, size + 1)
          const { hash, size: added, tag } = await store.addBytes(data)
          assert.deepEqual(hash, blake3(data))
          assert.equal(added, size)
          assert.ok(tag !== undefined)
          assert.deepEqual(await store.status(hash), { status: 'complete', size })
          assert.ok((await store.bitfield(hash)).ranges.isAll())
          assert.ok(Buffer.from(await store.getBytes(hash)).equals(data), `getBytes ${size}`)
          const verified = await store.verify(hash, { repair: true })
          assert.deepEqual([verified.checkedBytes, verified.bad.isEmpty(), verified.repaired], [size, true, undefined], `verify ${size}`)
          const offset = Math.floor(size / 3)
          const length = Math.min(size - offset, 20000)
          assert.ok(Buffer.from(concat(await collect(store.reader(hash, { offset, length })))).equals(data.subarray(offset, offset + length)), `reader ${size}`)
          const file = join(dir, `out-${size}`)
          await store.exportFile(hash, file)
          assert.ok(readFileSync(file).equals(data), `exportFile ${size}`)
          const leaves = await decodeExport(store, hash, ChunkRanges.all())
          assert.ok(Buffer.from(concat(leaves.map(([, bytes]) => bytes))).equals(data), `exportBao ${size}`)
          const other = new MemStore()
          await transfer(store, other, hash, ChunkRanges.all())
          assert.deepEqual(await other.status(hash), { status: 'complete', size })
          assert.ok(Buffer.from(await other.getBytes(hash)).equals(data))
          // And back the other way, into this store's kind, from scratch.
          const fresh = await kind.make()
          await transfer(other, fresh, hash, ChunkRanges.all())
          assert.ok(Buffer.from(await fresh.getBytes(hash)).equals(data), `import into ${kind.name} ${size}`)
          await fresh.close()
          await other.close()
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('adds files (copied or referenced) and streams, with progress', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'verity-add-'))
      try {
        const data = randomBytes(3 * 1024 * 1024 + 5, 77)
        const path = join(dir, 'input.bin')
        writeFileSync(path, data)
        const handle = store.addFile(path)
        const items = await collect(handle)
        const done = items[items.length - 1]
        assert.equal(done?.type, 'add:done')
        const progress = items.filter(item => item.type === 'add:progress')
        assert.ok(progress.length > 0)
        for (const item of progress) {
          assert.equal(item.type, 'add:progress')
          if (item.type === 'add:progress') assert.equal(item.detail.total, data.length, 'a file add knows its total from the first item')
        }
        assert.ok(progress.some(item => item.type === 'add:progress' && item.detail.copied === data.length && item.detail.hashed === data.length))
        const { hash } = await handle
        assert.deepEqual(done.type === 'add:done' ? done.detail.hash : undefined, hash)
        const short = await collect(store.addStream((async function * () { yield data.subarray(0, 1000) })()))
        assert.deepEqual(short.map(item => item.type), ['add:progress', 'add:done'])
        assert.equal(short[0]?.type === 'add:progress' ? short[0].detail.total : -1, undefined, 'a stream has no total')
        assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))

        const referenced = randomBytes(200000, 78)
        const refPath = join(dir, 'ref.bin')
        writeFileSync(refPath, referenced)
        const ref = await store.addFile(refPath, { mode: 'reference' })
        assert.ok(Buffer.from(await store.getBytes(ref.hash)).equals(referenced))
        // A referenced file changed behind the store's back is refused, not served.
        const changed = referenced.slice()
        flip(changed, 150000)
        writeFileSync(refPath, changed)
        assert.equal((await rejection(() => store.getBytes(ref.hash))).name, 'LeafHashMismatch')

        async function * pieces (): AsyncGenerator<Uint8Array> {
          for (let at = 0; at < data.length; at += 70001) yield data.subarray(at, at + 70001)
        }
        const streamed = await store.addStream(pieces())
        assert.deepEqual(streamed.hash, hash)
        assert.equal(streamed.size, data.length)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('imports random range sets partially, serves exactly what it has, then completes', async () => {
      const source = new MemStore()
      await fc.assert(fc.asyncProperty(
        fc.constantFrom(300 * 1024 + 5, 5 * 1024 * 1024 + 7, 16385, 1),
        fc.array(fc.tuple(fc.nat(5200), fc.nat(400)), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(5200), fc.nat(400)), { minLength: 1, maxLength: 4 }),
        async (size, first, second) => {
          const target = await kind.make()
          try {
            const data = randomBytes(size, size)
            const { hash } = await source.addBytes(data)
            const toRanges = (parts: Array<[number, number]>): ChunkRanges =>
              parts.reduce((acc, [s, n]) => acc.union(ChunkRanges.range(s, s + n + 1)), ChunkRanges.empty())
            const a = toRanges(first)
            const b = toRanges(second)
            await transfer(source, target, hash, a)
            let expected = clipped(a, size)
            const after1 = await target.bitfield(hash)
            assert.ok(clipped(after1.ranges, size).equals(expected), `after first import: ${after1.ranges.toString()} vs ${expected.toString()}`)
            await transfer(source, target, hash, b)
            expected = expected.union(clipped(b, size))
            const present = (await target.bitfield(hash)).ranges
            assert.ok(clipped(present, size).equals(expected))
            // What it has, it serves, verified.
            for (const [offset, bytes] of await decodeExport(target, hash, present)) {
              assert.ok(Buffer.from(bytes).equals(data.subarray(offset, offset + bytes.length)))
            }
            // Verify re-reads exactly the present bytes and finds them good.
            const { checkedBytes, bad } = await target.verify(hash)
            const edges = clipped(present, size).boundaries
            let presentBytes = 0
            for (let i = 0; i < edges.length; i += 2) presentBytes += Math.min((edges[i + 1] as number) * CHUNK_SIZE, size) - (edges[i] as number) * CHUNK_SIZE
            assert.deepEqual([checkedBytes, bad.toString()], [presentBytes, '{}'])
            const status = await target.status(hash)
            if (status.status !== 'complete') {
              // What it lacks ends the stream with MissingRange after a valid prefix.
              const missing = ChunkRanges.all().difference(present)
              const err = await rejection(() => collect(target.exportBao(hash, ChunkRanges.all())))
              assert.equal(err.name, 'MissingRange')
              await transfer(source, target, hash, missing)
            }
            assert.deepEqual(await target.status(hash), { status: 'complete', size })
            assert.ok(Buffer.from(await target.getBytes(hash)).equals(data))
          } finally {
            await target.close()
          }
        }), { numRuns: 12 })
      await source.close()
    })

    it('observe sees every change of a partial blob until it is complete', async () => {
      const source = new MemStore()
      const data = randomBytes(256 * 1024, 5)
      const { hash } = await source.addBytes(data)
      const controller = new AbortController()
      const seen: string[] = []
      const iterator = store.observe(hash, { signal: controller.signal })[Symbol.asyncIterator]()
      const next = async (): Promise<string> => {
        const { value } = await iterator.next()
        seen.push(value.ranges.toString())
        return value.ranges.toString()
      }
      assert.equal(await next(), '{}')
      await transfer(source, store, hash, ChunkRanges.range(0, 16))
      assert.equal(await next(), '{0..16}')
      await transfer(source, store, hash, ChunkRanges.range(64, 100))
      assert.equal(await next(), '{0..16, 64..100}')
      await transfer(source, store, hash, ChunkRanges.all())
      assert.equal(await next(), '{0..}')
      controller.abort()
      await assert.rejects(iterator.next())
      await source.close()
    })

    it('keeps tags and temp tags, and GC keeps exactly what they reach', async () => {
      const blob = async (seed: number, tag: string | false): Promise<Uint8Array> => (await store.addBytes(randomBytes(20000 + seed, seed), { tag })).hash
      const tagged = await blob(1, 'keep')
      const loose = await blob(2, false)
      const childA = await blob(3, false)
      const childB = await blob(4, false)
      const grandchild = await blob(5, false)
      const pinned = await blob(6, false)
      // A HashSeq tagged as such keeps its children alive (one level only).
      const seq = await store.addCollection([{ name: 'a.txt', hash: childA }, { name: 'dir/b.bin', hash: childB }], { tag: 'coll' })
      const nested = await store.addCollection([{ name: 'deep', hash: grandchild }], { tag: false })
      const pin = store.tempTag({ hash: pinned, format: 'raw' })
      await store.tags.set('nested-as-raw', { hash: nested.hash, format: 'raw' })

      assert.deepEqual((await store.tags.get('keep'))?.hash, tagged)
      const names = (await collect(store.tags.list())).map(t => t.name)
      assert.ok(names.includes('keep') && names.includes('coll'))
      assert.deepEqual((await collect(store.tags.list('co'))).map(t => t.name), ['coll'])
      const auto = await store.tags.create({ hash: loose, format: 'raw' })
      assert.match(auto, /^auto-/)
      await store.tags.delete(auto)
      // Auto tags made by add are deleted too, so only what is listed here keeps blobs alive.
      for (const { name } of await collect(store.tags.list('auto-'))) await store.tags.delete(name)

      // A dry run deletes nothing and names what the run then deletes.
      const planned = await store.gc({ dryRun: true })
      assert.equal((await store.status(loose)).status, 'complete', 'a dry run deletes nothing')
      const { deleted } = await store.gc()
      assert.deepEqual([...planned.deleted].sort(), [...deleted].sort())
      const hex = (h: Uint8Array): string => Buffer.from(h).toString('hex')
      assert.ok(deleted.includes(hex(loose)))
      assert.ok(deleted.includes(hex(grandchild)), 'a raw-tagged HashSeq does not keep children')
      for (const kept of [tagged, childA, childB, pinned, seq.hash, nested.hash]) {
        assert.equal((await store.status(kept)).status, 'complete', `${hex(kept)} kept`)
      }
      assert.equal((await store.status(loose)).status, 'absent')
      pin.release()
      assert.ok((await store.gc()).deleted.includes(hex(pinned)))
      assert.deepEqual((await store.readCollection(seq.hash)).map(e => e.name), ['a.txt', 'dir/b.bin'])
    })

    it('a pinned HashSeq keeps its children, as a tagged one does, until the pin is released', async () => {
      const child = (await store.addBytes(randomBytes(20000, 310), { tag: false })).hash
      const seq = await store.addCollection([{ name: 'child.bin', hash: child }], { tag: false })
      const pin = store.tempTag({ hash: seq.hash, format: 'hashseq' })
      assert.deepEqual((await store.gc({ dryRun: true })).deleted, [])
      assert.deepEqual((await store.gc()).deleted, [])
      assert.equal((await store.status(child)).status, 'complete')
      pin.release()
      assert.equal((await store.gc()).deleted.length, 3, 'then the root, its names and its child go')
    })

    it('never loses to GC a blob tagged or pinned while GC runs', async () => {
      const hashes: Uint8Array[] = []
      for (let i = 0; i < 30; i++) hashes.push((await store.addBytes(randomBytes(2000 + i, 100 + i), { tag: false })).hash)
      const running = store.gc()
      // Tag the last ones and pin one while the sweep goes through the store.
      const late = store.tags.set('late', { hash: hashes[29] as Uint8Array, format: 'raw' })
      const pin = store.tempTag({ hash: hashes[28] as Uint8Array, format: 'raw' })
      await late
      const { deleted } = await running
      assert.equal((await store.status(hashes[29] as Uint8Array)).status, 'complete')
      assert.equal((await store.status(hashes[28] as Uint8Array)).status, 'complete')
      assert.equal(deleted.length, 28)
      pin.release()
    })

    it('keeps every one of 1,000 blobs tagged while gc() runs, and deletes the rest', async function () {
      this.timeout(120000)
      const wanted: Uint8Array[] = []
      const garbage: Uint8Array[] = []
      for (let i = 0; i < 1000; i++) {
        wanted.push((await store.addBytes(randomBytes(64 + (i % 50), 7000 + i), { tag: false })).hash)
        garbage.push((await store.addBytes(randomBytes(64 + (i % 50), 9000 + i), { tag: false })).hash)
      }
      let resolved = false
      const running = store.gc().finally(() => { resolved = true })
      // One tag after another, as a program would set them, while GC marks, commits and purges.
      const setDuring: Uint8Array[] = []
      for (const [i, hash] of wanted.entries()) {
        await store.tags.set(`t-${i}`, { hash, format: 'raw' })
        if (!resolved) setDuring.push(hash)
      }
      const { deleted } = await running
      const lost = []
      for (const hash of setDuring) if ((await store.status(hash)).status !== 'complete') lost.push(Buffer.from(hash).toString('hex'))
      assert.deepEqual(lost, [], `${lost.length} of ${setDuring.length} blobs tagged while GC ran were deleted`)
      assert.ok(setDuring.length > 0)
      // No tag names a blob that is gone: a tag set while GC deleted waited for it, and then its
      // blob (untagged when GC decided) was either kept or already gone before the tag was written.
      for await (const { value } of store.tags.list('t-')) {
        if ((await store.status(value.hash)).status === 'absent') assert.ok(!setDuring.some(h => Buffer.from(h).equals(value.hash)))
      }
      // What nobody tagged went.
      for (const hash of garbage) assert.equal((await store.status(hash)).status, 'absent')
      assert.ok(deleted.length >= garbage.length)
      if (process.env.VERITY_DEBUG !== undefined) process.stderr.write(`${setDuring.length} tags set while GC ran\n`)
    })

    it('a blob pinned while its deletion is under way is put back whole, or reported deleted', async () => {
      const pinned = (await store.addBytes(randomBytes(30000, 302), { tag: false })).hash
      const gone = (await store.addBytes(randomBytes(30000, 303), { tag: false })).hash
      const tagged = (await store.addBytes(randomBytes(30000, 301), { tag: false })).hash
      const running = store.gc()
      // Taken once the GC has decided (its entries are going): the purge sees the pin.
      const pins: Array<{ release: () => void }> = []
      const pinWhenGone = (async () => {
        while ((await store.status(pinned)).status !== 'absent') await new Promise(resolve => setImmediate(resolve))
        pins.push(store.tempTag({ hash: pinned, format: 'raw' }))
        // A tag set now waits for the deletions to end.
        await store.tags.set('late', { hash: tagged, format: 'raw' })
      })()
      const { deleted } = await running
      await pinWhenGone
      const hex = (h: Uint8Array): string => Buffer.from(h).toString('hex')
      assert.ok(deleted.includes(hex(gone)))
      assert.equal((await store.status(gone)).status, 'absent')
      // Either the pin came before its files went (put back, whole, not reported deleted) or after
      // (gone, reported); test/store/gc.test.ts makes each case happen on purpose.
      if (deleted.includes(hex(pinned))) {
        assert.equal((await store.status(pinned)).status, 'absent')
      } else {
        assert.equal((await store.status(pinned)).status, 'complete')
        assert.ok(Buffer.from(await store.getBytes(pinned)).equals(randomBytes(30000, 302)))
      }
      for (const pin of pins) pin.release()
    })

    it('rejects unsafe and duplicate collection names (a name twice, or a file that is also a directory of another)', async () => {
      const { hash } = await store.addBytes(randomBytes(10, 1))
      for (const name of ['../x', '/abs', 'a//b', 'a/./b', '', 'a/..', 'C:\\x', 'c:x', 'nul\0byte']) {
        assert.equal((await rejection(() => store.addCollection([{ name, hash }]))).name, 'UnsafeName', JSON.stringify(name))
      }
      for (const names of [['a', 'a'], ['a', 'a/b'], ['a/b', 'a'], ['d/a', 'd/a/b/c']]) {
        const error = await rejection(() => store.addCollection(names.map(name => ({ name, hash }))))
        assert.equal(error.name, 'DuplicateName', JSON.stringify(names))
      }
      await store.addCollection(['a', 'ab', 'a b/c', 'd/a', 'd/b/a'].map(name => ({ name, hash })))
    })

    it('exports through a new file with a random name, replacing a symlink at the path, never writing through one; a failed export leaves nothing', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'verity-export-'))
      try {
        const data = randomBytes(100 * 1024, 3)
        const { hash } = await store.addBytes(data)
        writeFileSync(join(dir, 'victim'), 'keep me')
        symlinkSync(join(dir, 'victim'), join(dir, 'out.bin'))
        await store.exportFile(hash, join(dir, 'out.bin'))
        assert.ok(!lstatSync(join(dir, 'out.bin')).isSymbolicLink(), 'the symlink itself is replaced')
        assert.ok(readFileSync(join(dir, 'out.bin')).equals(data))
        assert.equal(readFileSync(join(dir, 'victim'), 'utf8'), 'keep me')
        const aborted = new AbortController()
        aborted.abort(new Error('stop'))
        assert.equal((await rejection(() => store.exportFile(hash, join(dir, 'never.bin'), { signal: aborted.signal }))).message, 'stop')
        assert.equal((await rejection(() => store.exportFile(blake3(randomBytes(5, 5)), join(dir, 'absent.bin')))).name, 'NotFound')
        assert.deepEqual(readdirSync(dir).sort(), ['out.bin', 'victim'], 'no temp file is left behind')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('refuses bad streams with named errors and keeps its earlier state', async () => {
      const source = new MemStore()
      const data = randomBytes(300 * 1024, 9)
      const { hash } = await source.addBytes(data)
      await transfer(source, store, hash, ChunkRanges.range(0, 40))
      const before = (await store.bitfield(hash)).ranges.toString()
      const good = concat(await collect(source.exportBao(hash, ChunkRanges.range(100, 200))))
      const otherHash = blake3(randomBytes(300 * 1024, 10))
      // Chunks 0..40 verified here: a size that ends before them is a lie.
      const lying = good.slice()
      new DataView(lying.buffer).setBigUint64(0, BigInt(30 * 1024), true)
      const cases: Array<[string, Uint8Array, Uint8Array, RegExp]> = [
        ['a size ending before the verified chunks', hash, lying, /^InvalidSize$/],
        ['wrong hash', otherHash, good, /^(ParentHashMismatch|InvalidSize)$/],
        ['truncated', hash, good.subarray(0, 8 + 64 * 3 + 100), /^UnexpectedEnd$/],
        ['garbage', hash, randomBytes(5000, 11), /^(ParentHashMismatch|InvalidSize|UnexpectedEnd)$/]
      ]
      for (const [label, target, bytes, name] of cases) {
        const err = await rejection(() => store.importBao(target, ChunkRanges.range(100, 200), [bytes] as unknown as AsyncIterable<Uint8Array>))
        assert.match(err.name, name, label)
      }
      assert.equal((await store.bitfield(hash)).ranges.toString(), before)
      assert.equal((await store.status(otherHash)).status, 'absent')
      for (const [offset, bytes] of await decodeExport(store, hash, ChunkRanges.range(0, 40))) {
        assert.ok(Buffer.from(bytes).equals(data.subarray(offset, offset + bytes.length)))
      }
      await source.close()
    })

    it('answers NotFound and argument errors by name', async () => {
      const absent = blake3(new Uint8Array([1, 2, 3]))
      assert.deepEqual(await store.status(absent), { status: 'absent' })
      assert.equal((await rejection(() => store.getBytes(absent))).name, 'NotFound')
      assert.equal((await rejection(() => collect(store.reader(absent)))).name, 'NotFound')
      assert.equal((await rejection(() => collect(store.exportBao(absent, ChunkRanges.all())))).name, 'NotFound')
      assert.equal((await rejection(() => store.verify(absent))).name, 'NotFound')
      await assert.rejects(store.status(new Uint8Array(5)), RangeError)
      assert.throws(() => store.addBytes('text' as unknown as Uint8Array), TypeError)
      await assert.rejects(store.tags.set('x', { hash: absent, format: 'zip' as 'raw' }), TypeError)
    })
  })
}
