import { open as openFile, stat } from 'node:fs/promises'
import { addFrom, adoptUnchecked, readAhead, type AddContext } from './add.js'
import { startAdd } from './add-handle.js'
import type { Backend } from './backend.js'
import type { ByteReader } from './bao/byte-reader.js'
import type { HashedBlob } from './bao/outboard.js'
import { encodeBatches, encodeRanges, piecesAsBatches, type EncodeOptions } from './bao/encode.js'
import { hashArg } from './bao/validate.js'
import { walkValidated } from './bao/validated-walk.js'
import { decodeCollectionMeta, encodeCollectionMeta, encodeHashSeq, safeName, uniqueNames } from './collection.js'
import { bitfieldOf, type Entry } from './entry.js'
import { InvalidHashSeq, NotFound, StoreClosed } from './errors.js'
import { Collector } from './gc.js'
import { HashSeqReader } from './hash-seq.js'
import { toHex } from './hash-text.js'
import { importBao } from './import-bao.js'
import type {
  AbortOptions, AddFileOptions, BatchOptions, AddHandle, AddOptions, AddResult, Bitfield, BlobStatus,
  BlobStore, CollectionEntry, GcOptions, GcResult, HashAndFormat, ImportResult, ReadOptions, Tags, TempTag, VerifyOptions, VerifyResult
} from './interface.js'
import { KeyedMutex } from './keyed-mutex.js'
import { Observers } from './observers.js'
import { openBlob, type OpenBlob } from './open-blob.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'
import { verifyBlob } from './verify.js'
import { writeNewFile } from './write-new-file.js'

/**
 * The store logic shared by MemStore and FsStore, over a Backend. Writers of one blob are
 * serialised (`exclusive`); readers never wait. Every byte read or exported is checked against
 * the hash on the way out.
 */
export class BaseStore implements BlobStore {
  readonly tags: Tags
  private readonly writers = new KeyedMutex()
  private readonly observers = new Observers()
  private readonly pins = new Map<string, number>()
  private readonly collector: Collector
  /** Kept as if tagged: tags being set (until written) and pinned HashSeqs (until released, so their children stay). */
  private readonly keptAsTagged = new Map<object, HashAndFormat>()
  private autoTag = 0
  /** What adding needs of this store (store/add.ts). */
  private readonly adding: AddContext
  private closed = false
  /** Imports under way: close() stops them, and they record what they verified before it returns. */
  private readonly imports = new Set<{ controller: AbortController, done: Promise<unknown> }>()

  constructor (protected readonly backend: Backend) {
    this.collector = new Collector({
      backend,
      exclusive: (key, fn) => this.writers.run(key, fn),
      pinned: hex => this.pins.has(hex),
      store: this,
      changed: (hex, entry) => { this.observers.notify(hex, bitfieldOf(entry)) },
      keptAsTagged: () => this.keptAsTagged.values()
    })
    this.tags = {
      set: async (name, value) => {
        this.open()
        const checked = checkValue(value)
        // Seen by a GC that starts before the tag is written; one under way keeps the blob, or
        // (deleting) is waited for.
        const token = {}
        this.keptAsTagged.set(token, checked)
        try {
          await this.collector.keep(checked)
          await this.backend.putTag(name, checked)
        } finally {
          this.keptAsTagged.delete(token)
        }
      },
      get: async name => this.backend.getTag(name),
      delete: async name => { await this.backend.deleteTag(name) },
      list: prefix => this.listTags(prefix ?? ''),
      create: async value => {
        let name: string
        do { name = `auto-${Date.now()}-${this.autoTag++}` } while (await this.backend.getTag(name) !== undefined)
        await this.tags.set(name, value)
        return name
      }
    }
    this.adding = {
      backend,
      exclusive: (key, fn) => this.writers.run(key, fn),
      loadEntry: key => this.loadEntry(key),
      commitEntry: (key, entry) => this.commitEntry(key, entry),
      pin: value => this.tempTag(value),
      tags: this.tags
    }
  }

  addBytes (bytes: Uint8Array, options: AddOptions = {}): AddHandle {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${typeof bytes}`)
    return startAdd(async emit => {
      this.open()
      return addFrom(this.adding, [bytes], bytes.length, emit, options)
    })
  }

  addFile (path: string, options: AddFileOptions = {}): AddHandle {
    if (typeof path !== 'string') throw new TypeError(`path must be a string, got ${typeof path}`)
    return startAdd(async emit => {
      this.open()
      const { size } = await stat(path)
      const handle = await openFile(path, 'r')
      try {
        const chunks = readAhead(handle, size)
        if (options.mode === 'reference') return await addFrom(this.adding, chunks, size, emit, options, path)
        return await addFrom(this.adding, chunks, size, emit, options)
      } finally {
        await handle.close()
      }
    })
  }

  addStream (stream: AsyncIterable<Uint8Array>, options: AddOptions = {}): AddHandle {
    return startAdd(async emit => {
      this.open()
      return addFrom(this.adding, stream, undefined, emit, options)
    })
  }

  /** Moves a file in on the caller's word for its hash (`BlobStore.adoptFileUnchecked`; store/add.ts). */
  async adoptFileUnchecked (path: string, hashed: HashedBlob, options: AddOptions = {}): Promise<AddResult> {
    this.open()
    return await adoptUnchecked(this.adding, path, hashed, options)
  }

  async getBytes (hash: Uint8Array, options: AbortOptions = {}): Promise<Uint8Array> {
    const status = await this.status(hash)
    if (status.status !== 'complete') throw new NotFound(toHex(hash), `blob ${toHex(hash)} is ${status.status}`)
    const out = new Uint8Array(status.size)
    let at = 0
    for await (const bytes of this.reader(hash, options)) {
      out.set(bytes, at)
      at += bytes.length
    }
    return out
  }

  async * reader (hash: Uint8Array, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    const opened = await this.openBlob(hashArg('hash', hash))
    try {
      const size = opened.entry.size
      const offset = options.offset ?? 0
      const end = Math.min(size, options.length === undefined ? size : offset + options.length)
      if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`)
      if (end <= offset) return
      const ranges = ChunkRanges.fromByteRange(offset, end)
      for await (const item of walkValidated(opened.blob, ranges, options.signal)) {
        if (item.type !== 'data') continue
        const from = Math.max(offset, item.offset)
        const to = Math.min(end, item.offset + item.data.length)
        if (to > from) yield item.data.subarray(from - item.offset, to - item.offset)
      }
    } finally {
      await opened.close()
    }
  }

  /**
   * The verified bytes go to a new file beside `path`, created exclusively under a random name
   * and never through a symlink (a name planted there cannot redirect the write), fsynced, then
   * renamed onto `path`: a file or symlink there is replaced, not written through. On any
   * failure the handle is closed and the temp file removed.
   */
  async exportFile (hash: Uint8Array, path: string, options: AbortOptions = {}): Promise<void> {
    await writeNewFile(path, this.reader(hash, options))
  }

  async * exportBao (hash: Uint8Array, ranges: ChunkRanges, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
    const opened = await this.openBlob(hashArg('hash', hash))
    try {
      yield * encodeRanges(this.encodeOptions(opened, ranges, options))
    } finally {
      await opened.close()
    }
  }

  async * exportBaoBatches (hash: Uint8Array, ranges: ChunkRanges, options: BatchOptions = {}): AsyncGenerator<Uint8Array[]> {
    if (this.exportBao !== BaseStore.prototype.exportBao) {
      // A subclass changed what exportBao yields: serve that, a piece a batch.
      yield * piecesAsBatches(this.exportBao(hash, ranges, options))
      return
    }
    const opened = await this.openBlob(hashArg('hash', hash))
    try {
      yield * encodeBatches({ ...this.encodeOptions(opened, ranges, options), transient: options.transient === true })
    } finally {
      await opened.close()
    }
  }

  private encodeOptions (opened: OpenBlob, ranges: ChunkRanges, options: AbortOptions): EncodeOptions {
    return {
      hash: opened.blob.hash,
      size: opened.entry.size,
      data: opened.blob.data,
      outboard: opened.blob.pairs,
      ...(opened.blob.present === undefined ? {} : { present: opened.blob.present }),
      ranges,
      ...(options.signal === undefined ? {} : { signal: options.signal })
    }
  }

  async status (hash: Uint8Array): Promise<BlobStatus> {
    const entry = await this.loadEntry(toHex(hashArg('hash', hash)))
    if (entry === undefined) return { status: 'absent' }
    if (entry.complete) return { status: 'complete', size: entry.size }
    return { status: 'partial', size: entry.size, sizeVerified: entry.sizeVerified }
  }

  async bitfield (hash: Uint8Array): Promise<Bitfield> {
    return bitfieldOf(await this.loadEntry(toHex(hashArg('hash', hash))))
  }

  observe (hash: Uint8Array, options: AbortOptions = {}): AsyncIterable<Bitfield> {
    const hex = toHex(hashArg('hash', hash))
    return this.observers.watch(hex, async () => bitfieldOf(await this.loadEntry(hex)), options.signal)
  }

  async * list (): AsyncGenerator<{ hash: Uint8Array, status: BlobStatus }> {
    for await (const [hex, entry] of this.backend.entries()) {
      const status: BlobStatus = entry.complete
        ? { status: 'complete', size: entry.size }
        : { status: 'partial', size: entry.size, sizeVerified: entry.sizeVerified }
      yield { hash: Uint8Array.from(Buffer.from(hex, 'hex')), status }
    }
  }

  async importBao (hash: Uint8Array, ranges: ChunkRanges, stream: AsyncIterable<Uint8Array> | ByteReader, options: AbortOptions = {}): Promise<ImportResult> {
    this.open()
    const hex = toHex(hashArg('hash', hash))
    // A download in progress is pinned: GC must not take its partial data.
    const pin = this.tempTag({ hash, format: 'raw' })
    const controller = new AbortController()
    const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal])
    const done = importBao({
      backend: this.backend,
      exclusive: (key, fn) => this.writers.run(key, fn),
      loadEntry: key => this.backend.getEntry(key),
      commitEntry: (key, entry, durable) => this.commitEntry(key, entry, durable)
    }, hash, hex, ranges, stream, { signal })
    const active = { controller, done }
    this.imports.add(active)
    try {
      return await done
    } finally {
      this.imports.delete(active)
      pin.release()
    }
  }

  tempTag (value: HashAndFormat): TempTag {
    const checked = checkValue(value)
    const hex = toHex(checked.hash)
    this.pins.set(hex, (this.pins.get(hex) ?? 0) + 1)
    if (checked.format === 'hashseq') this.keptAsTagged.set(checked, checked) // a fresh object: this pin's own key
    // Seen by a GC's mark (as if tagged), and by its purge, which puts back a pinned blob's entry.
    this.collector.keep(checked).catch(() => {}) // only waits; it cannot fail
    let released = false
    return {
      value: checked,
      release: () => {
        if (released) return
        released = true
        this.keptAsTagged.delete(checked)
        const count = (this.pins.get(hex) ?? 1) - 1
        if (count <= 0) this.pins.delete(hex)
        else this.pins.set(hex, count)
      }
    }
  }

  async addCollection (entries: CollectionEntry[], options: AddOptions = {}): Promise<AddResult> {
    const names = uniqueNames(entries.map(entry => safeName(entry.name)))
    const pins = entries.map(entry => this.tempTag({ hash: entry.hash, format: 'raw' }))
    try {
      const meta = await this.addBytes(encodeCollectionMeta(names), { tag: false })
      pins.push(this.tempTag({ hash: meta.hash, format: 'raw' }))
      const seq = encodeHashSeq([meta.hash, ...entries.map(entry => hashArg(`hash of ${entry.name}`, entry.hash))])
      return await this.addBytes(seq, { ...options, format: 'hashseq' })
    } finally {
      for (const pin of pins) pin.release()
    }
  }

  async readCollection (hash: Uint8Array): Promise<CollectionEntry[]> {
    const [metaHash, ...files] = await collectChildren(await HashSeqReader.open(this, hash))
    if (metaHash === undefined) throw new InvalidHashSeq('empty HashSeq is not a collection')
    const names = decodeCollectionMeta(await this.getBytes(metaHash))
    if (names.length !== files.length) throw new InvalidHashSeq(`collection has ${names.length} names for ${files.length} blobs`)
    return names.map((name, i) => ({ name, hash: files[i] as Uint8Array }))
  }

  /**
   * Mark from tags, pins and one level of HashSeq children; delete the rest. A blob tagged or
   * pinned at any moment before this resolves is kept (store/gc.ts).
   */
  gc (options: GcOptions = {}): Promise<GcResult> {
    this.open()
    const tags = async function * (this: BaseStore): AsyncGenerator<HashAndFormat> {
      for await (const { value } of this.listTags('')) yield value
    }.bind(this)
    return options.dryRun === true ? this.collector.plan(tags) : this.collector.gc(tags)
  }

  private async * listTags (prefix: string): AsyncGenerator<{ name: string, value: HashAndFormat }> {
    for await (const [name, value] of this.backend.tags(prefix)) yield { name, value }
  }

  /** Re-hash what is stored; with `repair`, under the blob's writer lock, drop what is bad (store/verify.ts). */
  async verify (hash: Uint8Array, options: VerifyOptions = {}): Promise<VerifyResult> {
    return await verifyBlob({
      backend: this.backend,
      exclusive: (key, fn) => this.writers.run(key, fn),
      loadEntry: key => this.loadEntry(key),
      commitEntry: (key, entry) => this.commitEntry(key, entry),
      openBlob: key => this.openBlob(key),
      forget: key => { this.observers.notify(key, bitfieldOf(undefined)) }
    }, hashArg('hash', hash), options)
  }

  /** Stops imports under way (each records what it verified), waits for GC, then closes. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const active of this.imports) active.controller.abort(new StoreClosed())
    await Promise.allSettled([...this.imports].map(active => active.done))
    await this.collector.settled()
    await this.backend.close()
  }

  get revision (): number {
    return this.observers.revision
  }

  private open (): void {
    if (this.closed) throw new StoreClosed()
  }

  private async loadEntry (hex: string): Promise<Entry | undefined> {
    this.open()
    return this.backend.getEntry(hex)
  }

  /** What a validated walk needs to read a blob (store/open-blob.ts). */
  private async openBlob (hash: Uint8Array): Promise<OpenBlob> {
    return await openBlob(this.backend, hash, await this.loadEntry(toHex(hash)))
  }

  private async commitEntry (hex: string, entry: Entry, durable = true): Promise<void> {
    await this.backend.putEntry(hex, entry, durable)
    this.observers.notify(hex, bitfieldOf(entry))
  }
}

async function collectChildren (reader: HashSeqReader): Promise<Uint8Array[]> {
  const children: Uint8Array[] = []
  for await (const child of reader) children.push(child)
  return children
}

function checkValue (value: HashAndFormat): HashAndFormat {
  if (value === null || typeof value !== 'object') throw new TypeError('value must be { hash, format }')
  if (value.format !== 'raw' && value.format !== 'hashseq') throw new TypeError(`format must be 'raw' or 'hashseq', got ${String(value.format)}`)
  return { hash: hashArg('hash', value.hash), format: value.format }
}
