import { open, type FileHandle } from 'node:fs/promises'
import { getSystemErrorMap } from 'node:util'
import type { BlobFile, FileWrite } from './backend.js'
import { fileJobs, readCached, type FileJobFailure } from './bao/native-core.js'
import { onDisk } from './disk-errors.js'
import type { DiskReserve } from './disk-reserve.js'

/**
 * Bytes read ahead on a miss, so walking a blob group by group makes few system calls (one per
 * 16 groups). Each open file keeps one such window, which is why it is not larger: a response
 * waiting on a slow requester holds its outboard file's (its data it reads with readInto into
 * the walk's own two windows of the same size: validated-walk.ts).
 */
const READ_AHEAD = 256 << 10

/**
 * The most bytes read at once from the page cache on the calling thread (FsFile.readInto): about
 * 0.5 ms here (256 KiB reads took 0.13-0.14 ms each), short enough for the event loop. Larger
 * reads go through the pool.
 */
const CACHED_READ_MAX = 1 << 20

/**
 * Reads from the page cache on this thread (looked up at the first read). Through libuv's pool
 * instead, each read costs a thread handoff both ways: measured here (2-core VM), 1,024 reads of
 * 256 KiB of a cached file took 245-276 ms of CPU in all through the pool, 133-145 ms on the
 * calling thread.
 */
let fromCache: ReturnType<typeof readCached> | null = null
/** The most writes one native job takes (MAX_OPS in native/addon.c). */
const WRITES_PER_JOB = 4096

/** Several writes or syncs as one job of libuv's pool (looked up at the first use; null: not here). */
let jobs: ReturnType<typeof fileJobs> | null = null
/** Jobs run that way, for tests. */
let jobsRun = 0
export function fileJobsRun (): number {
  return jobsRun
}

/** A failed native job as Node reports a failed call: `code` (ENOSPC...), `errno`, `syscall` and the file's `path`. */
function systemError (failure: unknown, syscall: string, paths: string[]): unknown {
  const { errno, index } = (failure ?? {}) as Partial<FileJobFailure>
  if (typeof errno !== 'number' || typeof index !== 'number') return failure
  const [code, description] = getSystemErrorMap().get(-errno) ?? [`Unknown system error ${errno}`, 'unknown error']
  const path = paths[index] as string
  return Object.assign(new Error(`${code}: ${description}, ${syscall} '${path}'`), { errno: -errno, code, syscall, path })
}

/** Node reads or writes at the file's current position at -1: never what a caller of a BlobFile meant. */
function checkOffset (offset: number, call: 'read' | 'write'): void {
  if (!(Number.isSafeInteger(offset) && offset >= 0)) throw new RangeError(`${call} offset must be a whole number of bytes from 0, got ${String(offset)}`)
}

/** Bytes read from the page cache on the calling thread, for tests. */
let cachedBytes = 0
export function bytesReadFromCache (): number {
  return cachedBytes
}

/**
 * A file as a BlobFile: positional reads (with read-ahead) and writes, fdatasync. Failures of the
 * disk come out as named store errors naming the file; writes go through the store's reserve
 * (`reserve.bulk`) when one is given, so blob bytes never take the room kept for the store's records.
 */
export class FsFile implements BlobFile {
  private window: { offset: number, bytes: Uint8Array } | undefined
  /** Whether this file's file system reads from the page cache without waiting (cleared once it says it cannot). */
  private cacheReads = true
  /** Native jobs using this file's descriptor: close() waits for them (the number could be reused). */
  private readonly running = new Set<Promise<unknown>>()
  /** close() has begun: no more native jobs with this descriptor. */
  private closing = false

  private constructor (readonly path: string, private readonly handle: FileHandle, private readonly reserve: DiskReserve | undefined) {}

  static async open (path: string, flags: 'r' | 'r+' | 'w+', reserve?: DiskReserve): Promise<FsFile> {
    return new FsFile(path, await onDisk(path, flags !== 'r', async () => await open(path, flags)), reserve)
  }

  async readAt (offset: number, length: number): Promise<Uint8Array> {
    const w = this.window
    if (w !== undefined && offset >= w.offset && offset + length <= w.offset + w.bytes.length) {
      return w.bytes.subarray(offset - w.offset, offset - w.offset + length)
    }
    const want = Math.max(length, READ_AHEAD)
    // Not zero-filled first (the provider spent a quarter as long zero-filling windows as hashing
    // them); a plain Uint8Array (a Buffer's slice() is a view, callers' slice() must copy), and
    // what a short read left unfilled is zeroed below: nothing of other memory is reachable
    // through the result's `buffer`.
    const buffer = new Uint8Array(Buffer.allocUnsafeSlow(want).buffer, 0, want)
    const filled = await this.readInto(offset, buffer)
    if (filled < want) buffer.fill(0, filled)
    if (filled < length) throw new RangeError(`read of ${length} bytes at ${offset} went past the end of the file`)
    this.window = { offset, bytes: buffer.subarray(0, filled) }
    return buffer.subarray(0, length)
  }

  /**
   * Up to `target.length` bytes at `offset` into `target` (not through the read-ahead window); how
   * many. What the page cache holds is read at once on this thread (up to CACHED_READ_MAX, where
   * the native module has readCached); the rest through libuv's pool.
   */
  async readInto (offset: number, target: Uint8Array): Promise<number> {
    checkOffset(offset, 'read')
    let filled = 0
    if (this.cacheReads && target.length <= CACHED_READ_MAX) {
      if (fromCache === null) fromCache = readCached()
      const got = fromCache?.(this.handle.fd, target, offset) ?? -1
      if (got < 0) this.cacheReads = false
      else filled = got
      cachedBytes += filled
    }
    while (filled < target.length) {
      const { bytesRead } = await onDisk(this.path, false, async () => await this.handle.read(target, filled, target.length - filled, offset + filled))
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return filled
  }

  async writeAt (offset: number, bytes: Uint8Array): Promise<void> {
    this.window = undefined
    const write = async (): Promise<void> => {
      let written = 0
      while (written < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, offset + written)
        written += bytesWritten
      }
    }
    if (this.reserve === undefined) await onDisk(this.path, true, write)
    else await this.reserve.bulk(this.path, write)
  }

  /** fdatasync; a file system that allocates late (ext4, XFS, NFS) may find the disk full only now. */
  async sync (): Promise<void> {
    const sync = async (): Promise<void> => { await this.handle.datasync() }
    if (this.reserve === undefined) await onDisk(this.path, true, sync)
    else await this.reserve.bulk(this.path, sync, { room: false })
  }

  /**
   * `writes` to this file, then `otherWrites` to `other`, in order, stopping at the first that
   * fails: one job of libuv's pool where the native module runs (each job costs a thread handoff
   * both ways), else one writeAt after another. Failures as writeAt's, naming the file.
   */
  async writeWith (writes: FileWrite[], other: BlobFile, otherWrites: FileWrite[]): Promise<void> {
    const files = this.withOther(other)
    if (files === undefined) {
      for (const { offset, bytes } of writes) await this.writeAt(offset, bytes)
      for (const { offset, bytes } of otherWrites) await other.writeAt(offset, bytes)
      return
    }
    const all = [...writes.map(write => ({ file: this, ...write })), ...otherWrites.map(write => ({ file: files[1], ...write }))]
    for (const { offset } of all) {
      checkOffset(offset, 'write')
    }
    for (const file of files) file.window = undefined
    if (all.length === 0) return
    const run = async (): Promise<void> => {
      // A batch of scattered ranges can hold more runs than one job takes: then a job per slice, in order.
      for (let first = 0; first < all.length; first += WRITES_PER_JOB) {
        const part = all.slice(first, first + WRITES_PER_JOB)
        jobsRun++
        await (jobs as NonNullable<typeof jobs>).writeAll(part.map(w => w.file.handle.fd), part.map(w => w.offset), part.map(w => w.bytes))
          .catch((failure: unknown) => { throw systemError(failure, 'write', part.map(w => w.file.path)) })
      }
    }
    await FsFile.holding(files, async () => {
      if (this.reserve === undefined) await onDisk(this.path, true, run)
      else await this.reserve.bulk(this.path, run)
    })
  }

  /** fdatasync of this file and `other`: one job of libuv's pool where the native module runs, else two syncs. */
  async syncWith (other: BlobFile): Promise<void> {
    const files = this.withOther(other)
    if (files === undefined) {
      await Promise.all([this.sync(), other.sync()])
      return
    }
    const run = async (): Promise<void> => {
      jobsRun++
      await (jobs as NonNullable<typeof jobs>).syncAll(files.map(file => file.handle.fd))
        .catch((failure: unknown) => { throw systemError(failure, 'fdatasync', files.map(file => file.path)) })
    }
    await FsFile.holding(files, async () => {
      if (this.reserve === undefined) await onDisk(this.path, true, run)
      else await this.reserve.bulk(this.path, run, { room: false })
    })
  }

  /**
   * This file and `other` for one native job: both open FsFiles of the same store, neither
   * closing, and the module here; else undefined (then writeAt and sync, which report a closed file).
   */
  private withOther (other: BlobFile): [FsFile, FsFile] | undefined {
    if (jobs === null) jobs = fileJobs()
    if (jobs === undefined || !(other instanceof FsFile) || other.reserve !== this.reserve) return undefined
    return [this, other].every(file => !file.closing && file.handle.fd >= 0) ? [this, other] : undefined
  }

  /**
   * Runs `operation` (native jobs with the files' descriptors, in the store's reserve), the
   * files' close() waiting for all of it: registered before its first await, so a close that
   * begins later waits, and one that began earlier was seen by withOther.
   */
  private static async holding (files: FsFile[], operation: () => Promise<void>): Promise<void> {
    const running = operation()
    for (const file of files) file.running.add(running)
    try {
      await running
    } finally {
      for (const file of files) file.running.delete(running)
    }
  }

  async close (): Promise<void> {
    // Native jobs with this descriptor end first: once closed, its number may name another file.
    // None starts once closing is set (withOther); the loop waits for those already registered.
    this.closing = true
    while (this.running.size > 0) await Promise.allSettled([...this.running])
    await onDisk(this.path, false, async () => { await this.handle.close() })
  }
}
