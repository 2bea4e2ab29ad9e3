import { randomBytes } from 'node:crypto'
import { mkdir, readdir, rename, rm, unlink, writeFile, open } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import type { Backend, BlobFile } from './backend.js'
import { BaseStore } from './blob-store.js'
import { decodeEntry, encodeEntry, type Entry } from './entry.js'
import { StoreLocked } from './errors.js'
import { FsFile } from './fs-file.js'
import type { HashAndFormat } from './interface.js'

const ENTRY = 'e/'
const TAG = 't/'

/**
 * On disk: `db/` (LevelDB: entries under `e/<hex>`, tags under `t/<name>`), `data/<hex>.data`,
 * `data/<hex>.pairs` (partial blobs, in-order pairs), `data/<hex>.obao4` (pre-order outboard),
 * `temp/` (new files before they are renamed in). Small complete blobs live in their entry.
 */
class FsBackend implements Backend {
  readonly inlineLimit = 16 * 1024

  private constructor (private readonly dir: string, private readonly db: Level<string, Uint8Array>) {}

  static async open (dir: string): Promise<FsBackend> {
    await mkdir(join(dir, 'data'), { recursive: true })
    // The database's lock first: temp/ and orphans belong to whoever holds it.
    const db = new Level<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
    try {
      await db.open()
    } catch (err) {
      if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        throw Object.assign(new StoreLocked(`the store in ${dir} is in use by another process`), { cause: err })
      }
      throw err
    }
    await rm(join(dir, 'temp'), { recursive: true, force: true })
    await mkdir(join(dir, 'temp'), { recursive: true })
    const backend = new FsBackend(dir, db)
    await backend.removeOrphans()
    return backend
  }

  /** Files a crash left behind: no entry, or a kind the entry does not use. */
  private async removeOrphans (): Promise<void> {
    for (const name of await readdir(join(this.dir, 'data'))) {
      const [hex, kind] = name.split('.')
      const entry = hex === undefined ? undefined : await this.getEntry(hex)
      const ownData = entry !== undefined && entry.inlineData === undefined && entry.externalPath === undefined
      const keep = entry !== undefined && ((kind === 'data' && ownData) ||
        (kind === 'pairs' && !entry.complete) || (kind === 'obao4' && entry.complete))
      if (!keep) await unlink(join(this.dir, 'data', name))
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
    await this.db.put(ENTRY + hex, encodeEntry(entry), { sync: durable })
  }

  async deleteEntry (hex: string): Promise<void> {
    await this.db.del(ENTRY + hex, { sync: true })
  }

  async deleteEntries (hexes: string[]): Promise<void> {
    if (hexes.length === 0) return
    await this.db.batch(hexes.map(hex => ({ type: 'del' as const, key: ENTRY + hex })), { sync: true })
  }

  async * entries (): AsyncGenerator<[string, Entry]> {
    for await (const [key, value] of this.db.iterator({ gte: ENTRY, lt: 'e0' })) {
      yield [key.slice(ENTRY.length), decodeEntry(value)]
    }
  }

  async getTag (name: string): Promise<HashAndFormat | undefined> {
    const bytes = await this.db.get(TAG + name)
    return bytes === undefined ? undefined : decodeTag(bytes)
  }

  async putTag (name: string, value: HashAndFormat): Promise<void> {
    await this.db.put(TAG + name, encodeTag(value), { sync: true })
  }

  async deleteTag (name: string): Promise<void> {
    await this.db.del(TAG + name, { sync: true })
  }

  async * tags (prefix: string): AsyncGenerator<[string, HashAndFormat]> {
    for await (const [key, value] of this.db.iterator({ gte: TAG + prefix, lt: TAG + prefix + '\uffff' })) {
      yield [key.slice(TAG.length), decodeTag(value)]
    }
  }

  async openData (hex: string, create: boolean): Promise<BlobFile | undefined> {
    return openFile(this.path(hex, 'data'), create)
  }

  async openPairs (hex: string, create: boolean): Promise<BlobFile | undefined> {
    return openFile(this.path(hex, 'pairs'), create)
  }

  async openOutboard (hex: string): Promise<BlobFile | undefined> {
    return openFile(this.path(hex, 'obao4'), false)
  }

  async writeOutboard (hex: string, outboard: Uint8Array): Promise<void> {
    const temp = join(this.dir, 'temp', `${hex}.${randomBytes(6).toString('hex')}.obao4`)
    await writeFile(temp, outboard, { flush: true })
    await rename(temp, this.path(hex, 'obao4'))
  }

  async tempData (): Promise<{ file: BlobFile, adopt: (hex: string) => Promise<void>, discard: () => Promise<void> }> {
    const temp = join(this.dir, 'temp', `${randomBytes(8).toString('hex')}.data`)
    const file = await FsFile.open(temp, 'w+')
    let closed = false
    const close = async (): Promise<void> => {
      if (!closed) { closed = true; await file.close() }
    }
    return {
      file,
      adopt: async (hex: string) => {
        await file.sync()
        await close()
        await rename(temp, this.path(hex, 'data'))
      },
      discard: async () => {
        await close()
        await rm(temp, { force: true })
      }
    }
  }

  async dropFiles (hex: string, which: { pairs?: boolean, data?: boolean, outboard?: boolean }): Promise<void> {
    if (which.pairs === true) await rm(this.path(hex, 'pairs'), { force: true })
    if (which.data === true) await rm(this.path(hex, 'data'), { force: true })
    if (which.outboard === true) await rm(this.path(hex, 'obao4'), { force: true })
  }

  async removeBlob (hex: string): Promise<void> {
    for (const kind of ['data', 'pairs', 'obao4'] as const) await rm(this.path(hex, kind), { force: true })
  }

  async openExternal (path: string): Promise<BlobFile> {
    return FsFile.open(path, 'r')
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}

async function openFile (path: string, create: boolean): Promise<BlobFile | undefined> {
  try {
    return await FsFile.open(path, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    if (!create) return undefined
    await (await open(path, 'a')).close()
    return FsFile.open(path, 'r+')
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
