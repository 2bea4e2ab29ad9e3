import { dirname } from 'node:path'
import { Level } from 'level'
import { asDiskError, diskError } from './disk-errors.js'
import type { DiskReserve } from './disk-reserve.js'
import { StoreClosed, StoreFull, StoreLocked } from './errors.js'

/**
 * LevelDB's write buffer. Its log grows to about this much before it becomes a table, and an open
 * must first write the log's records as a table: so this is also about the room an open needs
 * (measured on tmpfs: a 530 KiB log needs 540 KiB free to open, a 2.1 MiB one 2.1 MiB). LevelDB's
 * 4 MiB default suits bulk values; entries are small (inline bytes at most 32 KiB).
 */
export const WRITE_BUFFER_BYTES = 512 * 1024

/**
 * Room kept for LevelDB on a full disk (store/disk-reserve.ts): an open after a crash replays up
 * to two logs into tables (two write buffers), and the records written while the disk stays full
 * fill a new log and then its table (two more).
 */
export const RESERVE_BYTES = 4 * WRITE_BUFFER_BYTES

type Db = Level<string, Uint8Array>

/**
 * FsStore's LevelDB, kept usable when the disk fails under it. Writes run one at a time: a write
 * that fails part-way can leave a torn record at the end of the log, and LevelDB, when it next
 * opens, drops every record after a torn one (measured: 40 of 40 synced puts made after an
 * ENOSPC were gone after a reopen). So after a failed write the database is reopened before
 * anything else is appended (recovery ends the log at the torn record and starts a new one), with
 * the reserve let go when the disk is full, and the write is tried once more.
 */
export class FsDb {
  /** The last write failed: the log may end in a torn record. */
  private torn = false
  private writes: Promise<unknown> = Promise.resolve()
  /** A reopen under way: readers wait for it. */
  private reopening: Promise<void> = Promise.resolve()
  /** Closed by its owner: nothing reopens it. */
  private closed = false

  private constructor (private readonly location: string, private readonly reserve: DiskReserve, private db: Db) {}

  static async open (location: string, reserve: DiskReserve): Promise<FsDb> {
    return new FsDb(location, reserve, await openDb(location, reserve))
  }

  async get (key: string): Promise<Uint8Array | undefined> {
    return await this.read(async db => await db.get(key))
  }

  async put (key: string, value: Uint8Array, sync: boolean): Promise<void> {
    await this.write(async db => { await db.put(key, value, { sync }) })
  }

  async del (key: string, sync: boolean): Promise<void> {
    await this.write(async db => { await db.del(key, { sync }) })
  }

  /** Delete all these keys in one batch: all of them or none. */
  async delMany (keys: string[], sync: boolean): Promise<void> {
    await this.write(async db => { await db.batch(keys.map(key => ({ type: 'del' as const, key })), { sync }) })
  }

  /** Keys and values in [gte, lt). A reopen after a failed write ends an iteration under way with an error. */
  async * iterate (range: { gte: string, lt: string }): AsyncGenerator<[string, Uint8Array]> {
    const db = await this.ready()
    try {
      for await (const entry of db.iterator(range)) yield entry
    } catch (err) {
      throw asDiskError(err, this.location, false)
    }
  }

  async close (): Promise<void> {
    await this.serial(async () => {
      this.closed = true
      await this.db.close()
    })
  }

  private async read<T> (op: (db: Db) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const db = await this.ready()
      try {
        return await op(db)
      } catch (err) {
        // Closed under us by a reopen that started after this read: read again from the new one.
        if (attempt === 1 && (db !== this.db || db.status !== 'open')) continue
        throw asDiskError(err, this.location, false)
      }
    }
  }

  /** The open database, once a reopen under way is over (or tried again, when the last one failed). */
  private async ready (): Promise<Db> {
    await this.reopening
    if (this.closed) throw new StoreClosed()
    if (this.db.status !== 'open') await this.write(async () => {})
    return this.db
  }

  private async write (op: (db: Db) => Promise<void>): Promise<void> {
    await this.serial(async () => {
      for (let attempt = 1; ; attempt++) {
        if (this.closed) throw new StoreClosed()
        if (this.torn || this.db.status !== 'open') await this.reopen()
        try {
          await op(this.db)
          return
        } catch (err) {
          const error = diskError(err, this.location, true)
          if (error === undefined) throw err
          this.torn = true
          if (error instanceof StoreFull) await this.reserve.release()
          if (attempt === 2) throw error
        }
      }
    })
  }

  /** Close and open again; a failure leaves it closed, to be tried again by the next call. */
  private async reopen (): Promise<void> {
    const reopened = (async () => {
      if (this.db.status === 'open') await this.db.close()
      this.db = await openDb(this.location, this.reserve)
      this.torn = false
    })()
    this.reopening = reopened.catch(() => {}) // readers wait for it; the writer that asked sees its error
    await reopened
  }

  private async serial (fn: () => Promise<void>): Promise<void> {
    const run = this.writes.then(fn)
    this.writes = run.catch(() => {}) // the next write runs whatever this one did; its caller sees the error
    await run
  }
}

/**
 * Open LevelDB. On a full disk (an open writes the log's records as a table first) the reserve is
 * let go and the open tried once more.
 */
async function openDb (location: string, reserve: DiskReserve): Promise<Db> {
  for (let attempt = 1; ; attempt++) {
    const db = new Level<string, Uint8Array>(location, { valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES })
    try {
      await db.open()
      return db
    } catch (err) {
      if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        throw Object.assign(new StoreLocked(`the store in ${dirname(location)} is in use by another process`), { cause: err })
      }
      const error = diskError(err, location, true)
      if (error === undefined) throw err
      if (!(error instanceof StoreFull)) throw error
      if (attempt === 1) {
        await reserve.release()
        continue
      }
      throw new StoreFull(error, `no space left on device: the store's index in ${location} cannot be opened, even with the store's reserve let go (LevelDB must write ${error.path} first); free some space on this disk`)
    }
  }
}
