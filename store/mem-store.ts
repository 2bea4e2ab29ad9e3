import { open as openFile, rm } from 'node:fs/promises'
import type { Backend, BlobFile } from './backend.js'
import { BaseStore } from './blob-store.js'
import type { Entry } from './entry.js'
import type { HashAndFormat } from './interface.js'

/** Page size of in-memory blob bytes: a multiple of the 16 KiB group, so groups never straddle. */
const PAGE = 1 << 16

/** Sparse in-memory bytes: pages allocated on first write; a read within one page is a view. */
class MemFile implements BlobFile {
  private readonly pages = new Map<number, Uint8Array>()

  async readAt (offset: number, length: number): Promise<Uint8Array> {
    const first = Math.floor(offset / PAGE)
    if (Math.floor((offset + length - 1) / PAGE) === first || length === 0) {
      const page = this.pages.get(first)
      if (page !== undefined) return page.subarray(offset - first * PAGE, offset - first * PAGE + length)
    }
    const out = new Uint8Array(length)
    for (let done = 0; done < length;) {
      const at = offset + done
      const index = Math.floor(at / PAGE)
      const from = at - index * PAGE
      const take = Math.min(PAGE - from, length - done)
      const page = this.pages.get(index)
      if (page !== undefined) out.set(page.subarray(from, from + take), done)
      done += take
    }
    return out
  }

  async writeAt (offset: number, bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) {
      const at = offset + done
      const index = Math.floor(at / PAGE)
      const from = at - index * PAGE
      const take = Math.min(PAGE - from, bytes.length - done)
      let page = this.pages.get(index)
      if (page === undefined) {
        page = new Uint8Array(PAGE)
        this.pages.set(index, page)
      }
      page.set(bytes.subarray(done, done + take), from)
      done += take
    }
  }

  async sync (): Promise<void> {}
  async close (): Promise<void> {}
}

/** Everything in maps; nothing survives the process. */
class MemBackend implements Backend {
  readonly inlineLimit = 0
  private readonly entryMap = new Map<string, Entry>()
  private readonly tagMap = new Map<string, HashAndFormat>()
  private readonly data = new Map<string, MemFile>()
  private readonly pairs = new Map<string, MemFile>()
  private readonly outboards = new Map<string, MemFile>()

  async getEntry (hex: string): Promise<Entry | undefined> {
    const entry = this.entryMap.get(hex)
    return entry === undefined ? undefined : { ...entry, chunkPairs: new Map(entry.chunkPairs) }
  }

  async putEntry (hex: string, entry: Entry): Promise<void> {
    this.entryMap.set(hex, { ...entry, chunkPairs: new Map(entry.chunkPairs) })
  }

  async deleteEntry (hex: string): Promise<void> {
    this.entryMap.delete(hex)
  }

  async deleteEntries (hexes: string[]): Promise<void> {
    for (const hex of hexes) this.entryMap.delete(hex)
  }

  async * entries (): AsyncGenerator<[string, Entry]> {
    for (const [hex, entry] of [...this.entryMap]) yield [hex, entry]
  }

  async getTag (name: string): Promise<HashAndFormat | undefined> {
    return this.tagMap.get(name)
  }

  async putTag (name: string, value: HashAndFormat): Promise<void> {
    this.tagMap.set(name, value)
  }

  async deleteTag (name: string): Promise<void> {
    this.tagMap.delete(name)
  }

  async * tags (prefix: string): AsyncGenerator<[string, HashAndFormat]> {
    const names = [...this.tagMap.keys()].filter(name => name.startsWith(prefix)).sort()
    for (const name of names) {
      const value = this.tagMap.get(name)
      if (value !== undefined) yield [name, value]
    }
  }

  async openData (hex: string, create: boolean): Promise<BlobFile | undefined> {
    return open(this.data, hex, create)
  }

  async openPairs (hex: string, create: boolean): Promise<BlobFile | undefined> {
    return open(this.pairs, hex, create)
  }

  async openOutboard (hex: string): Promise<BlobFile | undefined> {
    return this.outboards.get(hex)
  }

  async writeOutboard (hex: string, outboard: Uint8Array): Promise<void> {
    const file = new MemFile()
    await file.writeAt(0, outboard)
    this.outboards.set(hex, file)
  }

  async tempData (): Promise<{ file: BlobFile, adopt: (hex: string) => Promise<void>, discard: () => Promise<void> }> {
    const file = new MemFile()
    return {
      file,
      adopt: async (hex: string) => { this.data.set(hex, file) },
      discard: async () => {}
    }
  }

  async adoptFile (path: string, hex: string): Promise<void> {
    const file = new MemFile()
    const handle = await openFile(path, 'r')
    try {
      const buffer = new Uint8Array(1 << 20)
      for (let offset = 0; ;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset)
        if (bytesRead === 0) break
        await file.writeAt(offset, buffer.subarray(0, bytesRead)) // copied into the pages
        offset += bytesRead
      }
    } finally {
      await handle.close()
    }
    this.data.set(hex, file)
    await rm(path, { force: true })
  }

  async dropFiles (hex: string, which: { pairs?: boolean, data?: boolean, outboard?: boolean }): Promise<void> {
    if (which.pairs === true) this.pairs.delete(hex)
    if (which.data === true) this.data.delete(hex)
    if (which.outboard === true) this.outboards.delete(hex)
  }

  async removeBlob (hex: string): Promise<void> {
    this.data.delete(hex)
    this.pairs.delete(hex)
    this.outboards.delete(hex)
  }

  async openExternal (path: string): Promise<BlobFile> {
    const { FsFile } = await import('./fs-file.js')
    return FsFile.open(path, 'r')
  }

  async close (): Promise<void> {}
}

function open (files: Map<string, MemFile>, hex: string, create: boolean): MemFile | undefined {
  let file = files.get(hex)
  if (file === undefined && create) {
    file = new MemFile()
    files.set(hex, file)
  }
  return file
}

/** A blob store in memory: for tests, caches and short-lived nodes. */
export class MemStore extends BaseStore {
  constructor () {
    super(new MemBackend())
  }
}
