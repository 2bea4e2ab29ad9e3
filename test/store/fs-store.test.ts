import assert from 'node:assert/strict'
import { mkdtempSync, openSync, readSync, rmSync, writeSync, closeSync, readdirSync, writeFileSync, existsSync, truncateSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GROUP_SIZE } from '../../store/bao/constants.js'
import { defaultCore } from '../../store/bao/core.js'
import { BaoTree } from '../../store/bao/tree.js'
import { decodeRanges } from '../../store/bao/decode.js'
import { FsStore } from '../../store/fs-store.js'
import { MemStore } from '../../store/mem-store.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { collect, concat, flipBit, randomBytes, rejection } from '../helpers.js'

describe('FsStore on disk', function () {
  this.timeout(60000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'verity-fs-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('refuses a second opener of the same directory with StoreLocked, leaving the temp files of the holder alone', async () => {
    const holder = await FsStore.open(dir)
    try {
      const inProgress = join(dir, 'temp', 'an-add-in-progress')
      writeFileSync(inProgress, 'partial')
      const err = await rejection(() => FsStore.open(dir))
      assert.equal(err.name, 'StoreLocked', err.stack)
      assert.ok(existsSync(inProgress), 'the holder keeps its temp file')
      const { hash } = await holder.addBytes(randomBytes(100, 7))
      assert.equal((await holder.status(hash)).status, 'complete', 'the holder still works')
    } finally {
      await holder.close()
    }
    const again = await FsStore.open(dir)
    await again.close()
  })

  it('sizes no file from an unverified size header: a lying size leaves files no larger than what verified', async () => {
    const source = new MemStore()
    const real = 1024 * 1024 + 100 // 65 groups, the last one 100 bytes
    const data = randomBytes(real, 41)
    const { hash } = await source.addBytes(data)
    const honest = concat(await collect(source.exportBao(hash, ChunkRanges.all())))
    const withSize = (size: bigint): Uint8Array => {
      const copy = honest.slice()
      new DataView(copy.buffer).setBigUint64(0, size, true)
      return copy
    }
    const store = await FsStore.open(dir)
    // Apparent sizes: a sparse file written far out would show here.
    const files = (): Array<[string, number]> => readdirSync(join(dir, 'data')).map(name => [name, statSync(join(dir, 'data', name)).size])
    try {
      // 2^50 bytes: the root pair verifies (it is the real one), nothing under it can.
      const huge = await rejection(() => store.importBao(hash, ChunkRanges.all(), [withSize(2n ** 50n)] as unknown as AsyncIterable<Uint8Array>))
      assert.match(huge.name, /^(ParentHashMismatch|LeafHashMismatch)$/)
      assert.equal((await store.status(hash)).status, 'absent', 'nothing verified: no entry, no claim of 1 PiB')
      assert.deepEqual(files(), [], 'no file at all')
      // A size a few KiB off: every group but the last verifies; the files hold just those.
      const near = await rejection(() => store.importBao(hash, ChunkRanges.all(), [withSize(BigInt(real + 5000))] as unknown as AsyncIterable<Uint8Array>))
      assert.match(near.name, /^(LeafHashMismatch|UnexpectedEnd)$/)
      const status = await store.status(hash)
      assert.deepEqual(status, { status: 'partial', size: real + 5000, sizeVerified: false })
      const verified = 64 * GROUP_SIZE
      for (const [name, bytes] of files()) {
        const max = name.endsWith('.data') ? verified : new BaoTree(real).blocks * 64
        assert.ok(bytes <= max, `${name} is ${bytes} bytes, at most ${max} verified`)
      }
      // The honest size replaces the unproven claim, and the last chunk proves it.
      await store.importBao(hash, ChunkRanges.all(), [honest] as unknown as AsyncIterable<Uint8Array>)
      assert.deepEqual(await store.status(hash), { status: 'complete', size: real })
      assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))
      // Now the size is proven: another one is a lie.
      const after = await rejection(() => store.importBao(hash, ChunkRanges.all(), [withSize(BigInt(real + 5000))] as unknown as AsyncIterable<Uint8Array>))
      assert.equal(after.name, 'InvalidSize')
    } finally {
      await store.close()
    }
  })

  it('keeps blobs, partial blobs and tags across a reopen', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 3, 1)
    const small = randomBytes(1000, 2)
    const source = new MemStore()
    const { hash: partialHash } = await source.addBytes(randomBytes(1024 * 1024, 3))
    let store = await FsStore.open(dir)
    const { hash } = await store.addBytes(data, { tag: 'big' })
    const { hash: smallHash } = await store.addBytes(small, { tag: 'small' })
    await store.importBao(partialHash, ChunkRanges.range(16, 48), source.exportBao(partialHash, ChunkRanges.range(16, 48)))
    await store.close()

    store = await FsStore.open(dir)
    assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))
    assert.ok(Buffer.from(await store.getBytes(smallHash)).equals(small))
    assert.deepEqual((await store.tags.get('big'))?.hash, hash)
    assert.equal((await store.bitfield(partialHash)).ranges.toString(), '{16..48}')
    await store.importBao(partialHash, ChunkRanges.all(), source.exportBao(partialHash, ChunkRanges.all()))
    assert.equal((await store.status(partialHash)).status, 'complete')
    await store.close()
    // Completed blobs keep no partial-download files behind.
    assert.ok(readdirSync(join(dir, 'data')).every(name => !name.endsWith('.pairs')))
    await source.close()
  })

  it('refuses corrupt bytes on disk for the affected range and serves the rest', async () => {
    const data = randomBytes(10 * GROUP_SIZE, 4)
    const store = await FsStore.open(dir)
    const { hash } = await store.addBytes(data)
    const hex = Buffer.from(hash).toString('hex')
    const fd = openSync(join(dir, 'data', `${hex}.data`), 'r+')
    const byte = Buffer.alloc(1)
    const at = 5 * GROUP_SIZE + 123
    readSync(fd, byte, 0, 1, at)
    byte[0] = (byte[0] as number) ^ 0x40
    writeSync(fd, byte, 0, 1, at)
    closeSync(fd)

    const bad = ChunkRanges.range(5 * 16, 6 * 16)
    assert.equal((await rejection(() => collect(store.reader(hash, { offset: at, length: 10 })))).name, 'LeafHashMismatch')
    assert.equal((await rejection(() => collect(store.exportBao(hash, bad)))).name, 'LeafHashMismatch')
    assert.equal((await rejection(() => store.getBytes(hash))).name, 'LeafHashMismatch')
    // Other groups still come out, verified.
    const before = concat(await collect(store.reader(hash, { offset: 0, length: 5 * GROUP_SIZE })))
    assert.ok(Buffer.from(before).equals(data.subarray(0, 5 * GROUP_SIZE)))
    const after = ChunkRanges.range(6 * 16, 10 * 16)
    const leaves = (await collect(decodeRanges(hash, after, store.exportBao(hash, after)))).filter(item => item.type === 'leaf')
    assert.equal(leaves.length, 4)
    await store.close()
  })

  it('records what an import verified when the store is closed under it', async () => {
    const source = new MemStore()
    const data = randomBytes(3 * 1024 * 1024, 6)
    const { hash } = await source.addBytes(data)
    const encoded = concat(await collect(source.exportBao(hash, ChunkRanges.all())))
    let store = await FsStore.open(dir)
    let fed = (): void => {}
    const halfway = new Promise<void>(resolve => { fed = resolve })
    async function * stalls (): AsyncGenerator<Uint8Array> {
      yield encoded.subarray(0, encoded.length / 2)
      fed()
      await new Promise(resolve => setTimeout(resolve, 60000))
    }
    const importing = store.importBao(hash, ChunkRanges.all(), stalls()).then(() => undefined, (err: Error) => err)
    await halfway
    await new Promise(resolve => setTimeout(resolve, 50))
    await store.close()
    assert.equal((await importing)?.name, 'StoreClosed')
    store = await FsStore.open(dir)
    const { ranges } = await store.bitfield(hash)
    assert.ok(ranges.countUpTo(3072) > 1000, `only ${ranges.toString()} recorded`)
    await store.close()
    await source.close()
  })

  it('records verified progress within about a second while a stream stalls', async () => {
    const source = new MemStore()
    const data = randomBytes(2 * 1024 * 1024, 5)
    const { hash } = await source.addBytes(data)
    const store = await FsStore.open(dir)
    const encoded = concat(await collect(source.exportBao(hash, ChunkRanges.all())))
    let release: () => void = () => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    async function * stalling (): AsyncGenerator<Uint8Array> {
      yield encoded.subarray(0, encoded.length / 2)
      await gate
      yield encoded.subarray(encoded.length / 2)
    }
    const importing = store.importBao(hash, ChunkRanges.all(), stalling())
    const deadline = Date.now() + 10000
    let ranges = ChunkRanges.empty()
    while (ranges.isEmpty() && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 100))
      ranges = (await store.bitfield(hash)).ranges
    }
    assert.ok(!ranges.isEmpty(), 'nothing was recorded while the stream stalled')
    release()
    assert.equal((await importing).complete, true)
    await store.close()
    await source.close()
  })
})

describe('FsStore verify', function () {
  this.timeout(60000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'verity-verify-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))


  it('finds rotted data and outboard pairs of a complete blob, drops just those groups, and a fetch makes it whole', async () => {
    // 300 groups: an outboard of 299 pairs, too big to inline, so it is a file that can rot.
    const data = randomBytes(300 * GROUP_SIZE, 11)
    const tree = new BaoTree(data.length)
    const parents = [...tree.preOrderParents()]
    const [lastStart, lastEnd] = tree.chunkRange(parents[parents.length - 1] as number)
    const store = await FsStore.open(dir)
    const source = new MemStore()
    try {
      const { hash } = await store.addBytes(data, { tag: 'kept' })
      await source.addBytes(data)
      const hex = Buffer.from(hash).toString('hex')
      flipBit(join(dir, 'data', `${hex}.data`), 2 * GROUP_SIZE + 5)
      flipBit(join(dir, 'data', `${hex}.obao4`), (parents.length - 1) * 64 + 3)
      const bad = `{32..48, ${lastStart}..${lastEnd}}`
      const good = data.length - GROUP_SIZE - (lastEnd - lastStart) * 1024

      const report = await store.verify(hash)
      assert.deepEqual([report.bad.toString(), report.checkedBytes, report.repaired], [bad, good, undefined])
      assert.equal((await store.status(hash)).status, 'complete', 'without repair nothing changes')

      const repaired = await store.verify(hash, { repair: true })
      assert.equal(repaired.repaired, 'ranges')
      assert.deepEqual(await store.status(hash), { status: 'partial', size: data.length, sizeVerified: true })
      assert.equal((await store.bitfield(hash)).ranges.toString(), `{0..32, 48..${lastStart}}`)
      assert.ok(!existsSync(join(dir, 'data', `${hex}.obao4`)), 'the outboard gave way to the pairs file')
      const again = await store.verify(hash)
      assert.deepEqual([again.bad.toString(), again.checkedBytes], ['{}', good], 'what is left verifies')
      assert.ok(Buffer.from(concat(await collect(store.reader(hash, { offset: 0, length: 2 * GROUP_SIZE })))).equals(data.subarray(0, 2 * GROUP_SIZE)))

      const missing = ChunkRanges.range(32, 48).union(ChunkRanges.from(lastStart))
      await store.importBao(hash, missing, source.exportBao(hash, missing))
      assert.equal((await store.status(hash)).status, 'complete')
      assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))
      assert.deepEqual((await store.tags.get('kept'))?.hash, hash, 'tags are left alone')
    } finally {
      await store.close()
      await source.close()
    }
  })

  it('drops rotted groups of a partial blob and keeps the rest', async () => {
    const data = randomBytes(20 * GROUP_SIZE, 12)
    const source = new MemStore()
    const store = await FsStore.open(dir)
    try {
      const { hash } = await source.addBytes(data)
      const part = ChunkRanges.range(0, 160)
      await store.importBao(hash, part, source.exportBao(hash, part))
      const hex = Buffer.from(hash).toString('hex')
      flipBit(join(dir, 'data', `${hex}.data`), 4 * GROUP_SIZE + 100)
      const repaired = await store.verify(hash, { repair: true })
      assert.deepEqual([repaired.bad.toString(), repaired.repaired, repaired.checkedBytes], ['{64..80}', 'ranges', 9 * GROUP_SIZE])
      assert.equal((await store.bitfield(hash)).ranges.toString(), '{0..64, 80..160}')
      await store.importBao(hash, ChunkRanges.all(), source.exportBao(hash, ChunkRanges.all()))
      assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))
    } finally {
      await store.close()
      await source.close()
    }
  })

  it('reports a referenced file edited, shortened or deleted, and repair forgets it', async () => {
    const store = await FsStore.open(dir)
    try {
      const cases: Array<[string, (path: string) => void, string]> = [
        ['edited', path => { flipBit(path, GROUP_SIZE + 1) }, '{16..32}'],
        ['shortened', path => { truncateSync(path, 3 * GROUP_SIZE) }, '{48..80}'],
        ['deleted', path => { rmSync(path) }, '{0..80}']
      ]
      for (const [what, change, bad] of cases) {
        const path = join(dir, `${what}.bin`)
        const data = randomBytes(5 * GROUP_SIZE, what.length)
        writeFileSync(path, data)
        const { hash } = await store.addFile(path, { mode: 'reference' })
        assert.equal((await store.verify(hash)).bad.toString(), '{}')
        change(path)
        const report = await store.verify(hash, { repair: true })
        assert.equal(report.bad.toString(), bad, what)
        assert.equal(report.error !== undefined, what !== 'edited', `${what}: ${String(report.error)}`)
        assert.equal(report.repaired, 'removed', what)
        assert.equal((await store.status(hash)).status, 'absent', what)
      }
    } finally {
      await store.close()
    }
  })

  it('adds files at once, copied and in place, some read into the kernel\'s lent buffers and some not, each as the hash of its bytes; the buffers go back', async () => {
    const store = await FsStore.open(join(dir, 'store'))
    try {
      const files = [0, 1, 2, 3].map(i => {
        const path = join(dir, `f${i}.bin`)
        const data = randomBytes((9 << 20) + 1000 * i, 90 + i)
        writeFileSync(path, data)
        return { path, data, expected: new MemStore().addBytes(data) }
      })
      const added = await Promise.all(files.map(async ({ path }, i) => await store.addFile(path, i % 2 === 0 ? {} : { mode: 'reference' })))
      for (const [i, { data, expected }] of files.entries()) {
        assert.deepEqual((added[i] as { hash: Uint8Array }).hash, (await expected).hash)
        assert.ok(Buffer.from(await store.getBytes((added[i] as { hash: Uint8Array }).hash)).equals(Buffer.from(data)), `file ${i}`)
      }
      const lent = defaultCore().borrowInput?.(1, 1)
      if (defaultCore().name === 'wasm-simd') assert.ok(lent !== undefined, 'every add gave its buffers back')
      lent?.release()
    } finally {
      await store.close()
    }
  })

  it('an add in place of a file cut short while its chunks are hashed fails saying so, keeps nothing, gives its buffers back only once no hash reads them, and adds it whole after', async () => {
    const store = await FsStore.open(join(dir, 'store'))
    // Watch the default core: how many hashes on other threads are running when the add gives
    // its read buffers back (each slowed a little, so that some are when the read fails).
    const core = defaultCore()
    const job = core.groupTreeAsync?.bind(core)
    const borrow = core.borrowInput?.bind(core)
    let running = 0
    const runningAtRelease: number[] = []
    if (job !== undefined) {
      core.groupTreeAsync = async (...args) => {
        running++
        try {
          await new Promise(resolve => setTimeout(resolve, 10))
          return await job(...args)
        } finally {
          running--
        }
      }
    }
    if (borrow !== undefined) {
      core.borrowInput = (count, size) => {
        const lent = borrow(count, size)
        return lent === undefined ? undefined : { buffers: lent.buffers, release: () => { runningAtRelease.push(running); lent.release() } }
      }
    }
    try {
      const path = join(dir, 'cut.bin')
      const data = randomBytes(48 << 20, 48)
      writeFileSync(path, data)
      const handle = store.addFile(path, { mode: 'reference' })
      let cut = false
      const err = await rejection(async () => {
        for await (const item of handle) {
          // The first progress comes after 1 MiB: reads and hashes of the next ones are in flight.
          if (!cut && item.type === 'add:progress') { truncateSync(path, (8 << 20) + 5); cut = true }
        }
      })
      assert.ok(cut)
      assert.match(err.message, /file shrank while being added/)
      for await (const entry of store.list()) assert.fail(`nothing kept, found ${entry.status.status}`)
      writeFileSync(path, data)
      const { hash } = await store.addFile(path, { mode: 'reference' })
      assert.deepEqual(hash, (await new MemStore().addBytes(data)).hash)
      assert.equal((await store.verify(hash)).bad.toString(), '{}')
      if (job !== undefined && borrow !== undefined) assert.deepEqual(runningAtRelease, [0, 0], 'buffers given back while a hash still read them')
    } finally {
      delete (core as { groupTreeAsync?: unknown }).groupTreeAsync
      delete (core as { borrowInput?: unknown }).borrowInput
      await store.close()
    }
  })
})
