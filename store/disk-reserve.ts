import { randomBytes } from 'node:crypto'
import { rm, stat, statfs, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { diskError, onDisk } from './disk-errors.js'
import { StoreFull } from './errors.js'

/** Free bytes on the file system holding `path`, as an unprivileged writer sees them. */
async function freeBytes (path: string): Promise<number> {
  const fs = await statfs(path)
  return fs.bavail * fs.bsize
}

/**
 * Room kept on the store's disk for the store's own records, so that a full disk never stops it
 * opening, deleting tags or collecting garbage: a file of `size` bytes (random ones, which a
 * compressing file system cannot shrink). Blob bytes are written only while it is held, so they
 * never take that room; when the disk fills, it is let go (LevelDB then has `size` bytes), and it
 * is taken again once there is room for it and as much again.
 */
export class DiskReserve {
  /** The file is there. */
  private held = false
  /** Blob writes under way; `release` waits for them, so none takes the room it frees. */
  private writing = 0
  private drained: (() => void) | undefined
  /** take, release and keep, one at a time. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor (readonly path: string, readonly size: number) {}

  /** Hold the reserve: it is there (whatever its size), or there is room for it and `size` more. */
  async take (): Promise<boolean> {
    return await this.serial(async () => {
      if (this.held) return true
      const there = await stat(this.path).then(() => true, () => false)
      if (!there) {
        if (await freeBytes(dirname(this.path)) < 2 * this.size) return false
        await this.write(this.size)
      }
      this.held = true
      return true
    })
  }

  /**
   * Let the reserve go: the store's records need the room. Blob writes under way end first (they
   * fail or finish on the full disk), and new ones wait for the reserve to be taken again.
   */
  async release (): Promise<void> {
    await this.serial(async () => {
      this.held = false
      while (this.writing > 0) await new Promise<void>(resolve => { this.drained = resolve })
      await onDisk(this.path, true, async () => { await rm(this.path, { force: true }) })
    })
  }

  /**
   * At close: if the reserve was let go, keep what is free (up to `size`) for the next open, which
   * needs room to replay LevelDB's log even if something else has filled the disk meanwhile.
   */
  async keep (): Promise<void> {
    await this.serial(async () => {
      if (this.held) return
      const free = Math.floor(await freeBytes(dirname(this.path)) / 4096) * 4096
      if (free === 0) return
      await this.write(Math.min(this.size, free))
      this.held = true
    })
  }

  /**
   * Run a write of blob bytes (data, pairs, outboards, temp files) to `path`: only while the
   * reserve is held (taken again first if it was let go and there is room), else StoreFull. A
   * write that fills the disk lets the reserve go and fails with StoreFull. `room: false` for a
   * call that adds no bytes (fdatasync), run whether or not the reserve is held.
   */
  async bulk<T> (path: string, write: () => Promise<T>, { room = true } = {}): Promise<T> {
    if (room && !this.held && !await this.take()) {
      throw new StoreFull({ path, code: 'ENOSPC' },
        `no space left on device writing ${path}: less than ${(2 * this.size) >> 20} MiB free, and the store keeps ${this.size >> 20} MiB for its own records`)
    }
    let failure: unknown
    this.writing++
    try {
      return await write()
    } catch (err) {
      failure = diskError(err, path, true) ?? err
    } finally {
      if (--this.writing === 0) this.drained?.()
    }
    if (failure instanceof StoreFull) await this.release()
    throw failure
  }

  private async write (size: number): Promise<void> {
    try {
      await writeFile(this.path, randomBytes(size), { flush: true })
    } catch (err) {
      await rm(this.path, { force: true })
      throw diskError(err, this.path, true) ?? err
    }
  }

  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn)
    this.queue = run.catch(() => {}) // the next call runs whatever this one did; its own caller sees the error
    return await run
  }
}
