import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileJobs, readCached } from '../../store/bao/native-core.js'
import type { BlobFile } from '../../store/backend.js'
import { encodeRanges } from '../../store/bao/encode.js'
import { computeOutboard } from '../../store/bao/outboard.js'
import { DiskReserve } from '../../store/disk-reserve.js'
import type { StoreFull } from '../../store/errors.js'
import { FsStore } from '../../store/fs-store.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { bytesReadFromCache, fileJobsRun, FsFile } from '../../store/fs-file.js'
import { randomBytes, rejection, repoRoot } from '../helpers.js'

/**
 * Where the build made the native module (it holds readCached), and the process is not kept off
 * it (VERITY_BLAKE3_CORE=wasm or =portable: then every read goes through the pool).
 */
const built = existsSync(join(repoRoot, 'dist', 'store', 'bao', 'native', 'blake3.node')) &&
  process.env.VERITY_BLAKE3_CORE !== 'wasm' && process.env.VERITY_BLAKE3_CORE !== 'portable'

/**
 * Whether `file`'s file system reads from the page cache without waiting (RWF_NOWAIT): ext4, XFS
 * and btrfs do; tmpfs (a /tmp of some distributions) does not, and FsFile then reads through the
 * pool alone.
 */
function readsFromCache (file: string): boolean {
  const fd = openSync(file, 'r')
  try {
    return (readCached()?.(fd, new Uint8Array(1), 0) ?? -1) === 1
  } finally {
    closeSync(fd)
  }
}

/** Drops `file`'s pages from the page cache (GNU dd's nocache: posix_fadvise DONTNEED), once its bytes are on disk. */
function evict (file: string): boolean {
  if (spawnSync('sync', ['-d', file]).status !== 0) return false
  return spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0
}

describe('FsFile reads (store/fs-file.ts)', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'verity-fs-file-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('reads what the page cache holds on the calling thread (Linux, native module built): same bytes, counted', async function () {
    if (process.platform !== 'linux' || !built) this.skip()
    assert.ok(readCached() !== undefined, 'the native module was built on Linux but has no readCached')
    const data = randomBytes(3 << 20, 11)
    const path = join(dir, 'cached')
    writeFileSync(path, data) // just written: in the page cache
    if (!readsFromCache(path)) this.skip() // a file system that cannot (tmpfs): FsFile reads through the pool
    const file = await FsFile.open(path, 'r')
    try {
      for (const [offset, length] of [[0, 256 << 10], [12345, 1 << 20], [(3 << 20) - 1000, 1000]] as const) {
        const before = bytesReadFromCache()
        const target = new Uint8Array(length)
        assert.equal(await file.readInto(offset, target), length)
        assert.deepEqual(target, data.subarray(offset, offset + length))
        assert.equal(bytesReadFromCache() - before, length, `${length} bytes at ${offset} came from the cache`)
      }
      // Past the end: what is there, the rest of the target untouched.
      const before = bytesReadFromCache()
      const target = new Uint8Array(4096).fill(7)
      assert.equal(await file.readInto((3 << 20) - 100, target), 100)
      assert.deepEqual(target.subarray(0, 100), data.subarray((3 << 20) - 100))
      assert.ok(target.subarray(100).every(byte => byte === 7))
      assert.equal(bytesReadFromCache() - before, 100)
      // Larger than a read the event loop should wait for: through the pool, same bytes.
      const whole = new Uint8Array((1 << 20) + 1)
      const large = bytesReadFromCache()
      assert.equal(await file.readInto(0, whole), whole.length)
      assert.deepEqual(whole, data.subarray(0, whole.length))
      assert.equal(bytesReadFromCache(), large)
    } finally {
      await file.close()
    }
  })

  it('reads what is not in the page cache through the pool: the same bytes, none counted as cached', async function () {
    if (process.platform !== 'linux' || !built) this.skip()
    const data = randomBytes(2 << 20, 12)
    const path = join(dir, 'evicted')
    writeFileSync(path, data)
    if (!readsFromCache(path)) this.skip() // nothing would count as cached anyway
    if (!evict(path)) this.skip() // no GNU dd or sync -d here
    const file = await FsFile.open(path, 'r')
    try {
      const before = bytesReadFromCache()
      const target = new Uint8Array(1 << 20)
      assert.equal(await file.readInto(1 << 20, target), target.length)
      assert.deepEqual(target, data.subarray(1 << 20))
      assert.ok(bytesReadFromCache() - before < target.length, `all ${target.length} bytes counted as cached after the eviction`)
    } finally {
      await file.close()
    }
  })

  it('a file system that cannot read from the page cache without waiting (-1) is read through the pool from then on: /dev/shm (tmpfs)', async function () {
    if (process.platform !== 'linux' || !built || !existsSync('/dev/shm')) this.skip()
    const shm = mkdtempSync('/dev/shm/verity-fs-file-')
    try {
      const path = join(shm, 'f')
      const data = randomBytes(100_000, 14)
      writeFileSync(path, data)
      if (readsFromCache(path)) this.skip() // this kernel's tmpfs can: nothing to check here
      const fd = openSync(path, 'r')
      try {
        assert.equal(readCached()?.(fd, new Uint8Array(10), 0), -1, 'tmpfs answers -1 (not supported), not 0')
      } finally {
        closeSync(fd)
      }
      const file = await FsFile.open(path, 'r')
      try {
        const before = bytesReadFromCache()
        for (const offset of [0, 50_000]) {
          const target = new Uint8Array(40_000)
          assert.equal(await file.readInto(offset, target), target.length)
          assert.deepEqual(target, data.subarray(offset, offset + target.length))
        }
        assert.equal(bytesReadFromCache(), before)
      } finally {
        await file.close()
      }
    } finally {
      rmSync(shm, { recursive: true, force: true })
    }
  })

  it('a read that fails is reported by the pool\'s read, as before: a directory, a closed file, a negative offset', async () => {
    mkdirSync(join(dir, 'sub'))
    const directory = await FsFile.open(join(dir, 'sub'), 'r')
    try {
      const err = await rejection(async () => await directory.readInto(0, new Uint8Array(100))) as NodeJS.ErrnoException
      assert.equal(err.code, 'EISDIR')
    } finally {
      await directory.close()
    }
    writeFileSync(join(dir, 'closed'), randomBytes(100, 13))
    const closed = await FsFile.open(join(dir, 'closed'), 'r')
    await closed.close()
    const err = await rejection(async () => await closed.readInto(0, new Uint8Array(100)))
    assert.match(err.message, /closed/i)
    const file = await FsFile.open(join(dir, 'closed'), 'r')
    try {
      // Node's read takes -1 as "from the current position": refused before it gets there.
      for (const offset of [-1, 0.5, Number.NaN]) {
        const refused = await rejection(async () => await file.readInto(offset, new Uint8Array(10)))
        assert.equal(refused.name, 'RangeError')
        assert.match(refused.message, /read offset must be a whole number of bytes from 0/)
      }
    } finally {
      await file.close()
    }
  })
})

describe('FsFile writes and syncs of two files as one job (store/fs-file.ts)', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'verity-fs-file-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('writes runs to both files and syncs both, one native job each (Linux, native module built): the same bytes', async function () {
    if (process.platform !== 'linux' || !built) this.skip()
    assert.ok(fileJobs() !== undefined, 'the native module was built on Linux but has no writeAll/syncAll')
    const data = await FsFile.open(join(dir, 'data'), 'w+')
    const pairs = await FsFile.open(join(dir, 'pairs'), 'w+')
    try {
      const bytes = randomBytes(3 << 20, 21)
      const before = fileJobsRun()
      // Out of order, adjacent and apart; one empty write.
      await data.writeWith([{ offset: 1 << 20, bytes: bytes.subarray(1 << 20, 3 << 20) }, { offset: 0, bytes: bytes.subarray(0, 1 << 20) }, { offset: 5, bytes: new Uint8Array(0) }],
        pairs, [{ offset: 640, bytes: bytes.subarray(0, 64) }, { offset: 0, bytes: bytes.subarray(64, 128) }])
      await data.syncWith(pairs)
      assert.equal(fileJobsRun() - before, 2, 'one job for the five writes, one for the two syncs')
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'data'))), bytes)
      const expected = new Uint8Array(704)
      expected.set(bytes.subarray(64, 128), 0)
      expected.set(bytes.subarray(0, 64), 640)
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'pairs'))), expected)
      // Read back through the files too: a write drops the read-ahead window of the file it writes.
      assert.deepEqual(await pairs.readAt(0, 64), bytes.subarray(64, 128))
      await data.writeWith([], pairs, [{ offset: 0, bytes: bytes.subarray(200, 264) }])
      assert.deepEqual(await pairs.readAt(0, 64), bytes.subarray(200, 264))
      assert.deepEqual(await data.readAt(0, 64), bytes.subarray(0, 64))
      await pairs.writeWith([], data, [{ offset: 0, bytes: bytes.subarray(300, 364) }])
      assert.deepEqual(await data.readAt(0, 64), bytes.subarray(300, 364))
      // In order: of two writes to the same bytes, the later stays.
      await data.writeWith([{ offset: 10, bytes: new Uint8Array(20).fill(1) }, { offset: 20, bytes: new Uint8Array(20).fill(2) }], pairs, [])
      assert.deepEqual(await data.readAt(10, 30), Uint8Array.from([...new Array(10).fill(1), ...new Array(20).fill(2)]))
      // More writes than one job takes (4,096): scattered ranges make a batch of many runs.
      const many = Array.from({ length: 5000 }, (_, i) => ({ offset: i * 128, bytes: bytes.subarray(i * 64, i * 64 + 64) }))
      const jobs = fileJobsRun()
      await pairs.writeWith(many.slice(0, 2500), data, many.slice(2500))
      assert.equal(fileJobsRun() - jobs, 2)
      for (const i of [0, 2499, 2500, 4999]) {
        const file = i < 2500 ? pairs : data
        assert.deepEqual(await file.readAt(i * 128, 64), bytes.subarray(i * 64, i * 64 + 64), `write ${i}`)
      }
    } finally {
      await data.close()
      await pairs.close()
    }
  })

  it('stops at the first write that fails and names its file, as Node names a failed write; a failed sync likewise', async function () {
    if (process.platform !== 'linux' || !built) this.skip()
    writeFileSync(join(dir, 'read-only'), '')
    const readOnly = await FsFile.open(join(dir, 'read-only'), 'r')
    const writable = await FsFile.open(join(dir, 'writable'), 'w+')
    try {
      // This file's writes come first: the first fails, the other file's are never made.
      const first = await rejection(async () => await readOnly.writeWith([{ offset: 0, bytes: new Uint8Array(10) }], writable, [{ offset: 0, bytes: new Uint8Array(10).fill(1) }])) as NodeJS.ErrnoException
      assert.deepEqual([first.code, first.syscall, first.path], ['EBADF', 'write', join(dir, 'read-only')])
      assert.match(first.message, /^EBADF: bad file descriptor, write '.*read-only'$/)
      assert.equal(statSync(join(dir, 'writable')).size, 0)
      // The writes before the failing one are made.
      const second = await rejection(async () => await writable.writeWith([{ offset: 0, bytes: new Uint8Array(10).fill(2) }], readOnly, [{ offset: 0, bytes: new Uint8Array(10) }])) as NodeJS.ErrnoException
      assert.deepEqual([second.code, second.path], ['EBADF', join(dir, 'read-only')])
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'writable'))), new Uint8Array(10).fill(2))
      const offset = await rejection(async () => await writable.writeWith([{ offset: -1, bytes: new Uint8Array(1) }], readOnly, []))
      assert.equal(offset.name, 'RangeError')
    } finally {
      await readOnly.close()
      await writable.close()
    }
    // fdatasync of a pipe fails (EINVAL): the error names the pipe.
    if (spawnSync('mkfifo', [join(dir, 'fifo')]).status !== 0) return
    const fifo = await FsFile.open(join(dir, 'fifo'), 'r+')
    const file = await FsFile.open(join(dir, 'writable'), 'r+')
    try {
      const err = await rejection(async () => await file.syncWith(fifo)) as NodeJS.ErrnoException
      assert.deepEqual([err.code, err.syscall, err.path], ['EINVAL', 'fdatasync', join(dir, 'fifo')])
    } finally {
      await fifo.close()
      await file.close()
    }
  })

  it('close() waits for a job still writing with the file\'s descriptor, all of its slices; a write begun after close() is refused, not made through a reused descriptor', async function () {
    if (process.platform !== 'linux' || !built) this.skip()
    const a = await FsFile.open(join(dir, 'a'), 'w+')
    const b = await FsFile.open(join(dir, 'b'), 'w+')
    const bytes = randomBytes(32 << 20, 22)
    // Closed at once, the descriptor would be gone (EBADF) or, reused, name another file.
    const writing = a.writeWith([{ offset: 0, bytes }], b, [{ offset: 0, bytes: bytes.subarray(0, 1 << 20) }])
    await Promise.all([a.close(), b.close()])
    await writing
    assert.ok(Buffer.from(readFileSync(join(dir, 'a'))).equals(bytes))
    assert.ok(Buffer.from(readFileSync(join(dir, 'b'))).equals(bytes.subarray(0, 1 << 20)))
    // More writes than one job takes: close() waits for the later slices too.
    const c = await FsFile.open(join(dir, 'c'), 'w+')
    const d = await FsFile.open(join(dir, 'd'), 'w+')
    const slices = Array.from({ length: 6000 }, (_, i) => ({ offset: i * 4096, bytes: bytes.subarray(i * 4096, (i + 1) * 4096) }))
    const sliced = c.writeWith(slices, d, [])
    await c.close()
    await sliced
    assert.ok(Buffer.from(readFileSync(join(dir, 'c'))).equals(bytes.subarray(0, 6000 * 4096)))
    assert.equal(statSync(join(dir, 'd')).size, 0)
    // Begun while close() waits for a job: not a native job (writeAt's FileHandle keeps its own
    // descriptor open until its writes end), and nothing lands in a file opened meanwhile.
    const e = await FsFile.open(join(dir, 'e'), 'w+')
    const busy = d.writeWith(slices, e, [])
    const closing = d.close()
    const jobs = fileJobsRun()
    const late = d.writeWith([{ offset: 0, bytes: bytes.subarray(0, 1 << 20) }], e, []).then(() => undefined, (err: unknown) => err)
    assert.equal(fileJobsRun(), jobs, 'no native job with a descriptor being closed')
    await busy
    await closing
    const opened = await FsFile.open(join(dir, 'f'), 'w+')
    await late
    await opened.close()
    await e.close()
    assert.equal(statSync(join(dir, 'f')).size, 0)
    assert.equal(statSync(join(dir, 'e')).size, 0)
  })

  it('a write that fills the disk is StoreFull naming the file, and lets the store\'s reserve go, as writeAt: /dev/full', async function () {
    if (process.platform !== 'linux' || !built || !existsSync('/dev/full')) this.skip()
    const reserve = new DiskReserve(join(dir, 'reserve'), 4096)
    assert.equal(await reserve.take(), true)
    const full = await FsFile.open('/dev/full', 'r+', reserve)
    const file = await FsFile.open(join(dir, 'f'), 'w+', reserve)
    try {
      const before = fileJobsRun()
      const err = await rejection(async () => await file.writeWith([{ offset: 0, bytes: new Uint8Array(100).fill(5) }], full, [{ offset: 0, bytes: new Uint8Array(100) }]))
      assert.equal(fileJobsRun() - before, 1, 'through the native job')
      assert.equal(err.name, 'StoreFull')
      assert.equal((err as StoreFull).path, '/dev/full')
      assert.equal(existsSync(join(dir, 'reserve')), false, 'the reserve was let go')
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'f'))), new Uint8Array(100).fill(5), 'the write before it was made')
    } finally {
      await full.close()
      await file.close()
    }
  })

  it('an FsStore import writes and syncs through these jobs', async function () {
    if (process.platform !== 'linux' || !built) this.skip()
    const store = await FsStore.open(join(dir, 'store'))
    try {
      const data = randomBytes(3 << 20, 23)
      const { hash, outboard } = computeOutboard(data)
      const before = fileJobsRun()
      await store.importBao(hash, ChunkRanges.all(), encodeRanges({ hash, size: data.length, data, outboard, ranges: ChunkRanges.all() }))
      assert.deepEqual(await store.status(hash), { status: 'complete', size: data.length })
      // Three 1 MiB batches and at least one commit's sync.
      assert.ok(fileJobsRun() - before >= 4, `${fileJobsRun() - before} jobs`)
      assert.ok(Buffer.from(await store.getBytes(hash)).equals(data))
    } finally {
      await store.close()
    }
  })

  it('with another kind of file, writes one after another through writeAt (as where the module is not here)', async () => {
    const written: Array<[number, number]> = []
    const other: BlobFile = {
      readAt: async () => new Uint8Array(0),
      writeAt: async (offset, bytes) => { written.push([offset, bytes.length]) },
      sync: async () => { written.push([-1, 0]) },
      close: async () => {}
    }
    const file = await FsFile.open(join(dir, 'f'), 'w+')
    try {
      const before = fileJobsRun()
      await file.writeWith([{ offset: 0, bytes: new Uint8Array(10).fill(3) }], other, [{ offset: 64, bytes: new Uint8Array(64) }, { offset: 0, bytes: new Uint8Array(64) }])
      await file.syncWith(other)
      assert.equal(fileJobsRun(), before)
      assert.deepEqual(written, [[64, 64], [0, 64], [-1, 0]])
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'f'))), new Uint8Array(10).fill(3))
    } finally {
      await file.close()
    }
  })
})
