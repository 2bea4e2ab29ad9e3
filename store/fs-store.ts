import { randomBytes } from 'node:crypto'
import { readdir, rename, rm, unlink, writeFile, open } from 'node:fs/promises'
import { join } from 'node:path'
import type { Backend, BlobFile } from './backend.js'
import { BaseStore } from './blob-store.js'
import { onDisk } from './disk-errors.js'
import { DiskReserve } from './disk-reserve.js'
import { decodeEntry, encodeEntry, type Entry } from './entry.js'
import { StoreReadOnly } from './errors.js'
import { FsDb, RESERVE_BYTES } from './fs-db.js'
import { FsFile } from './fs-file.js'
import { makeDirectory } from './make-directory.js'
import type { HashAndFormat } from './interface.js'

const ENTRY = 'e/'
const TAG = 't/'
/** The room kept for LevelDB on a full disk (store/disk-reserve.ts). */
const RESERVE_FILE = 'reserve'

/**
 * On disk: `db/` (LevelDB: entries under `e/<hex>`, tags under `t/<name>`), `data/<hex>.data`,
 * `data/<hex>.pairs` (partial blobs, in-order pairs), `data/<hex>.obao4` (pre-order outboard),
 * `temp/` (new files before they are renamed in), `reserve` (room kept for LevelDB). Small
 * complete blobs live in their entry. Disk failures come out as StoreFull, StoreReadOnly and
 * StoreIOError naming the file.
 */
class FsBackend implements Backend {
  readonly inlineLimit = 16 * 1024

  private constructor (private readonly dir: string, private readonly db: FsDb, private readonly reserve: DiskReserve) {}

  static async open (dir: string): Promise<FsBackend> {
    try {
      await makeDirectory(join(dir, 'data'))
      const reserve = new DiskReserve(join(dir, RESERVE_FILE), RESERVE_BYTES)
      // The database's lock first: temp/ and orphans belong to whoever holds it.
      const db = await FsDb.open(join(dir, 'db'), reserve)
      try {
        const backend = new FsBackend(dir, db, reserve)
        await backend.clearTemp()
        await backend.removeOrphans()
        await reserve.take()
        return backend
      } catch (err) {
        await db.close()
        throw err
      }
    } catch (err) {
      if (!(err instanceof StoreReadOnly)) throw err
      throw new StoreReadOnly(err, `${err.code === 'EROFS' ? 'read-only file system' : 'no permission to write'}: the store in ${dir} cannot be opened ` +
        `(${err.code} writing ${err.path}), not even to read: its index, LevelDB through classic-level, has no read-only mode and writes on every open; ` +
        'mount it read-write, or copy it to a writable place')
    }
  }

  /** Temp files a crash left behind. The directory stays: making it again needs room, which a full disk lacks. */
  private async clearTemp (): Promise<void> {
    const temp = join(this.dir, 'temp')
    await makeDirectory(temp)
    await onDisk(temp, true, async () => {
      for (const name of await readdir(temp)) await rm(join(temp, name), { recursive: true, force: true })
    })
  }

  /** Files a crash left behind: no entry, or a kind the entry does not use. */
  private async removeOrphans (): Promise<void> {
    for (const name of await onDisk(join(this.dir, 'data'), false, async () => await readdir(join(this.dir, 'data')))) {
      const [hex, kind] = name.split('.')
      const entry = hex === undefined ? undefined : await this.getEntry(hex)
      const ownData = entry !== undefined && entry.inlineData === undefined && entry.externalPath === undefined
      const keep = entry !== undefined && ((kind === 'data' && ownData) ||
        (kind === 'pairs' && !entry.complete) || (kind === 'obao4' && entry.complete))
      const path = join(this.dir, 'data', name)
      if (!keep) await onDisk(path, true, async () => { await unlink(path) })
    }
  }

  private path (hex: string, kind: 'data' | 'pairs' | 'obao4'): string {
    return join(this.dir, 'data', `${hex}.${kind}`)
  }

  async getEntry (hex: string): Promise<Entry | undefined> {
    const bytes = await this.db.get(ENTRY + hex)
    return bytes === undefined ? undefined : decodeEntry(bytes)
  }

  async putEntry (hex: string, entry: Entry, durable = true): Promise<void> {
    await this.db.put(ENTRY + hex, encodeEntry(entry), durable)
  }

  async deleteEntry (hex: string): Promise<void> {
    await this.db.del(ENTRY + hex, true)
  }

  async deleteEntries (hexes: string[]): Promise<void> {
    if (hexes.length === 0) return
    await this.db.delMany(hexes.map(hex => ENTRY + hex), true)
  }

  async * entries (): AsyncGenerator<[string, Entry]> {
    for await (const [key, value] of this.db.iterate({ gte: ENTRY, lt: 'e0' })) {
      yield [key.slice(ENTRY.length), decodeEntry(value)]
    }
  }

  async getTag (name: string): Promise<HashAndFormat | undefined> {
    const bytes = await this.db.get(TAG + name)
    return bytes === undefined ? undefined : decodeTag(bytes)
  }

  async putTag (name: string, value: HashAndFormat): Promise<void> {
    await this.db.put(TAG + name, encodeTag(value), true)
  }

  async deleteTag (name: string): Promise<void> {
    await this.db.del(TAG + name, true)
  }

  async * tags (prefix: string): AsyncGenerator<[string, HashAndFormat]> {
    for await (const [key, value] of this.db.iterate({ gte: TAG + prefix, lt: TAG + prefix + '\uffff' })) {
      yield [key.slice(TAG.length), decodeTag(value)]
    }
  }

  async openData (hex: string, create: boolean): Promise<BlobFile | undefined> {
    return await this.openFile(this.path(hex, 'data'), create)
  }

  async openPairs (hex: string, create: boolean): Promise<BlobFile | undefined> {
    return await this.openFile(this.path(hex, 'pairs'), create)
  }

  async openOutboard (hex: string): Promise<BlobFile | undefined> {
    return await this.openFile(this.path(hex, 'obao4'), false)
  }

  async writeOutboard (hex: string, outboard: Uint8Array): Promise<void> {
    const temp = join(this.dir, 'temp', `${hex}.${randomBytes(6).toString('hex')}.obao4`)
    try {
      await this.reserve.bulk(temp, async () => { await writeFile(temp, outboard, { flush: true }) })
    } catch (err) {
      await rm(temp, { force: true })
      throw err
    }
    await this.rename(temp, this.path(hex, 'obao4'))
  }

  async tempData (): Promise<{ file: BlobFile, adopt: (hex: string) => Promise<void>, discard: () => Promise<void> }> {
    const temp = join(this.dir, 'temp', `${randomBytes(8).toString('hex')}.data`)
    const file = await FsFile.open(temp, 'w+', this.reserve)
    let closed = false
    const close = async (): Promise<void> => {
      if (!closed) { closed = true; await file.close() }
    }
    return {
      file,
      adopt: async (hex: string) => {
        await file.sync()
        await close()
        await this.rename(temp, this.path(hex, 'data'))
      },
      discard: async () => {
        await close()
        await this.remove(temp)
      }
    }
  }

  async adoptFile (path: string, hex: string): Promise<void> {
    const source = await FsFile.open(path, 'r')
    try {
      await source.sync()
    } finally {
      await source.close()
    }
    try {
      await this.rename(path, this.path(hex, 'data'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
      await this.copyIn(path, hex)
    }
  }

  /** A file on another file system copied in through temp/, as an add writes it, then removed. */
  private async copyIn (path: string, hex: string): Promise<void> {
    const temp = await this.tempData()
    let adopted = false
    const handle = await onDisk(path, false, async () => await open(path, 'r'))
    try {
      const buffer = new Uint8Array(1 << 20)
      for (let offset = 0; ;) {
        const { bytesRead } = await onDisk(path, false, async () => await handle.read(buffer, 0, buffer.length, offset))
        if (bytesRead === 0) break
        await temp.file.writeAt(offset, buffer.subarray(0, bytesRead))
        offset += bytesRead
      }
      await temp.adopt(hex)
      adopted = true
    } finally {
      await handle.close()
      if (!adopted) await temp.discard()
    }
    await this.remove(path)
  }

  async dropFiles (hex: string, which: { pairs?: boolean, data?: boolean, outboard?: boolean }): Promise<void> {
    if (which.pairs === true) await this.remove(this.path(hex, 'pairs'))
    if (which.data === true) await this.remove(this.path(hex, 'data'))
    if (which.outboard === true) await this.remove(this.path(hex, 'obao4'))
  }

  async removeBlob (hex: string): Promise<void> {
    for (const kind of ['data', 'pairs', 'obao4'] as const) await this.remove(this.path(hex, kind))
  }

  async openExternal (path: string): Promise<BlobFile> {
    return FsFile.open(path, 'r')
  }

  /** Closes LevelDB, then keeps what is free as the reserve if it was let go (for the next open). */
  async close (): Promise<void> {
    await this.db.close()
    // Best effort: a reserve that cannot be made now is made by the next open that has room.
    await this.reserve.keep().catch(() => {})
  }

  /** A store file opened for reading and writing, created empty if `create`; writes go through the reserve. */
  private async openFile (path: string, create: boolean): Promise<BlobFile | undefined> {
    try {
      return await FsFile.open(path, 'r+', this.reserve)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      if (!create) return undefined
      await onDisk(path, true, async () => { await (await open(path, 'a')).close() })
      return await FsFile.open(path, 'r+', this.reserve)
    }
  }

  private async rename (from: string, to: string): Promise<void> {
    await onDisk(to, true, async () => { await rename(from, to) })
  }

  private async remove (path: string): Promise<void> {
    await onDisk(path, true, async () => { await rm(path, { force: true }) })
  }
}

function encodeTag (value: HashAndFormat): Uint8Array {
  const out = new Uint8Array(33)
  out[0] = value.format === 'hashseq' ? 1 : 0
  out.set(value.hash, 1)
  return out
}

function decodeTag (bytes: Uint8Array): HashAndFormat {
  return { format: bytes[0] === 1 ? 'hashseq' : 'raw', hash: new Uint8Array(bytes.subarray(1, 33)) }
}

/** A blob store in a directory: LevelDB for entries and tags, files for bytes. */
export class FsStore extends BaseStore {
  readonly dir: string

  private constructor (dir: string, backend: FsBackend) {
    super(backend)
    this.dir = dir
  }

  static async open (dir: string): Promise<FsStore> {
    return new FsStore(dir, await FsBackend.open(dir))
  }
}
