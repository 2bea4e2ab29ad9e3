import type { ByteReader } from './bao/byte-reader.js'
import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { open as openFile, type FileHandle } from 'node:fs/promises'
import { CHUNK_SIZE, GROUP_SIZE, PAIR_SIZE } from './bao/constants.js'
import { MissingRange } from './bao/errors.js'
import { OutboardBuilder } from './bao/outboard.js'
import { BaoTree } from './bao/tree.js'
import { preOrderPairs, type PairSource } from './bao/pair-source.js'
import type { RandomAccess } from './bao/random-access.js'
import { encodeRanges } from './bao/encode.js'
import { hashArg } from './bao/validate.js'
import { walkValidated, type LocalBlob } from './bao/validated-walk.js'
import { startAdd } from './add-handle.js'
import type { Backend, BlobFile } from './backend.js'
import { decodeCollectionMeta, encodeCollectionMeta, encodeHashSeq, safeName, uniqueNames } from './collection.js'
import { HashSeqReader } from './hash-seq.js'
import type { Entry } from './entry.js'
import { InvalidHashSeq, NotFound, StoreClosed } from './errors.js'
import { toHex } from './hash-text.js'
import { importBao } from './importer.js'
import type {
  AbortOptions, AddFileOptions, AddHandle, AddOptions, AddProgress, AddResult, Bitfield, BlobStatus,
  BlobStore, CollectionEntry, GcResult, HashAndFormat, ImportResult, ReadOptions, Tags, TempTag, VerifyOptions, VerifyResult
} from './interface.js'
import { KeyedMutex } from './keyed-mutex.js'
import { Observers } from './observers.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'
import { outboardToPairs, scanBlob, type Scan } from './verify.js'
import { Collector } from './gc.js'

/** A new file only: fails if the name exists, a symlink included (never followed). */
const EXCLUSIVE_NEW_FILE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW

/** Bytes read per step when adding a file or stream. */
const READ_SIZE = 1 << 20

/** An opened blob: what a validated walk needs, and how to let go of it. */
interface OpenBlob { entry: Entry, blob: LocalBlob, close: () => Promise<void> }

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
  /** Tags being set now: their values, until the write is done. */
  private readonly tagWrites = new Map<object, HashAndFormat>()
  private autoTag = 0
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
      tagsBeingSet: () => this.tagWrites.values()
    })
    this.tags = {
      set: async (name, value) => {
        this.open()
        const checked = checkValue(value)
        // Seen by a GC that starts before the tag is written; one under way keeps the blob, or
        // (deleting) is waited for.
        const token = {}
        this.tagWrites.set(token, checked)
        try {
          await this.collector.keep(checked)
          await this.backend.putTag(name, checked)
        } finally {
          this.tagWrites.delete(token)
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
  }

  // ---- adding -------------------------------------------------------------------------------

  addBytes (bytes: Uint8Array, options: AddOptions = {}): AddHandle {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${typeof bytes}`)
    return startAdd(async emit => {
      this.open()
      emit({ type: 'size', size: bytes.length })
      return this.addFrom([bytes], bytes.length, emit, options)
    })
  }

  addFile (path: string, options: AddFileOptions = {}): AddHandle {
    if (typeof path !== 'string') throw new TypeError(`path must be a string, got ${typeof path}`)
    return startAdd(async emit => {
      this.open()
      const { size } = await stat(path)
      emit({ type: 'size', size })
      const handle = await openFile(path, 'r')
      try {
        const chunks = readChunks(handle, size)
        if (options.mode === 'reference') return await this.addFrom(chunks, size, emit, options, path)
        return await this.addFrom(chunks, size, emit, options)
      } finally {
        await handle.close()
      }
    })
  }

  addStream (stream: AsyncIterable<Uint8Array>, options: AddOptions = {}): AddHandle {
    return startAdd(async emit => {
      this.open()
      return this.addFrom(stream, undefined, emit, options)
    })
  }

  /**
   * Hash the bytes while writing them to a temp file (or not at all: `external`), then move them
   * in by hash. Order for crash safety: data and outboard durable, then the entry, then the tag;
   * a pin keeps the new blob from a concurrent GC in between.
   */
  private async addFrom (source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, size: number | undefined,
    emit: (item: AddProgress) => void, options: AddOptions, external?: string): Promise<AddResult> {
    const builder = new OutboardBuilder(size === undefined ? {} : { size })
    const temp = external === undefined ? await this.backend.tempData() : undefined
    let adopted = false
    try {
      let copied = 0
      let reported = 0
      // One write in flight while the next chunk is read and hashed (readChunks double-buffers).
      let writing: Promise<void> = Promise.resolve()
      for await (const chunk of source) {
        options.signal?.throwIfAborted()
        builder.update(chunk)
        await writing
        if (temp !== undefined) {
          writing = temp.file.writeAt(copied, chunk)
          // Awaited at the next step or after the loop; until then (while the source is read, or
          // if it throws) a failed write must not count as unhandled, which would end the process.
          writing.catch(() => {})
        }
        copied += chunk.length
        if (copied - reported >= READ_SIZE) {
          emit({ type: 'progress', copied: temp === undefined ? 0 : copied, hashed: copied })
          reported = copied
        }
      }
      await writing
      const { hash, outboard } = builder.finish()
      emit({ type: 'progress', copied: temp === undefined ? 0 : copied, hashed: copied })
      const hex = toHex(hash)
      const format = options.format ?? 'raw'
      const pin = this.tempTag({ hash, format })
      try {
        await this.writers.run(hex, async () => {
          const existing = await this.loadEntry(hex)
          if (existing?.complete === true && existing.externalPath === undefined) return
          if (existing !== undefined) await this.backend.removeBlob(hex)
          const entry: Entry = { size: copied, sizeVerified: true, present: ChunkRanges.all(), complete: true, chunkPairs: new Map() }
          if (external !== undefined) {
            entry.externalPath = external
          } else if (copied <= this.backend.inlineLimit) {
            entry.inlineData = (await (temp as { file: BlobFile }).file.readAt(0, copied)).slice()
          } else {
            await temp?.adopt(hex)
            adopted = true
          }
          if (outboard.length > 0 && outboard.length <= this.backend.inlineLimit) entry.inlineOutboard = outboard
          else if (outboard.length > 0) await this.backend.writeOutboard(hex, outboard)
          await this.commitEntry(hex, entry)
        })
        const tag = options.tag === false ? undefined : options.tag ?? await this.tags.create({ hash, format })
        if (typeof options.tag === 'string') await this.tags.set(options.tag, { hash, format })
        return { hash, size: copied, tag }
      } finally {
        pin.release()
      }
    } finally {
      if (!adopted) await temp?.discard()
    }
  }

  // ---- reading ------------------------------------------------------------------------------

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
    const temp = join(dirname(path), `.verity-export-${randomBytes(12).toString('hex')}.tmp`)
    const file = await openFile(temp, EXCLUSIVE_NEW_FILE, 0o666)
    try {
      try {
        let at = 0
        for await (const bytes of this.reader(hash, options)) {
          await file.write(bytes, 0, bytes.length, at)
          at += bytes.length
        }
        await file.sync()
      } finally {
        await file.close()
      }
      await rename(temp, path)
    } catch (err) {
      await rm(temp, { force: true })
      throw err
    }
  }

  async * exportBao (hash: Uint8Array, ranges: ChunkRanges, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
    const opened = await this.openBlob(hashArg('hash', hash))
    try {
      yield * encodeRanges({
        hash,
        size: opened.entry.size,
        data: opened.blob.data,
        outboard: opened.blob.pairs,
        ...(opened.blob.present === undefined ? {} : { present: opened.blob.present }),
        ranges,
        ...(options.signal === undefined ? {} : { signal: options.signal })
      })
    } finally {
      await opened.close()
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

  // ---- importing ----------------------------------------------------------------------------

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

  // ---- tags, pins, collections, GC ----------------------------------------------------------

  tempTag (value: HashAndFormat): TempTag {
    const checked = checkValue(value)
    const hex = toHex(checked.hash)
    this.pins.set(hex, (this.pins.get(hex) ?? 0) + 1)
    // Seen by a GC's mark (as if tagged), and by its purge, which puts back a pinned blob's entry.
    this.collector.keep(checked).catch(() => {}) // only waits; it cannot fail
    let released = false
    return {
      value: checked,
      release: () => {
        if (released) return
        released = true
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
  gc (): Promise<GcResult> {
    this.open()
    return this.collector.gc(async function * (this: BaseStore) {
      for await (const { value } of this.listTags('')) yield value
    }.bind(this))
  }

  private async * listTags (prefix: string): AsyncGenerator<{ name: string, value: HashAndFormat }> {
    for await (const [name, value] of this.backend.tags(prefix)) yield { name, value }
  }

  // ---- verifying ----------------------------------------------------------------------------

  /** Re-hash what is stored; with `repair`, under the blob's writer lock, drop what is bad. */
  async verify (hash: Uint8Array, options: VerifyOptions = {}): Promise<VerifyResult> {
    const hex = toHex(hashArg('hash', hash))
    const check = async (): Promise<VerifyResult> => {
      let scan: Scan
      let entry: Entry
      try {
        const opened = await this.openBlob(hash)
        entry = opened.entry
        try {
          scan = await scanBlob(opened.blob, options.signal)
        } finally {
          await opened.close()
        }
      } catch (err) {
        // A referenced file that is gone cannot even be opened: all of it is bad.
        const found = await this.loadEntry(hex)
        if (found === undefined || (err as Error).name === 'AbortError' || options.signal?.aborted === true) throw err
        entry = found
        scan = { checkedBytes: 0, bad: ChunkRanges.range(0, new BaoTree(found.size).chunks), error: err as Error }
      }
      const result: VerifyResult = { checkedBytes: scan.checkedBytes, bad: scan.bad, ...(scan.error === undefined ? {} : { error: scan.error.message }) }
      if (options.repair !== true || scan.bad.isEmpty()) return result
      return { ...result, repaired: await this.dropBad(hex, entry, scan.bad) }
    }
    return options.repair === true ? await this.writers.run(hex, check) : await check()
  }

  /** Make the bad groups missing (a complete blob becomes partial), or remove the blob. */
  private async dropBad (hex: string, entry: Entry, bad: ChunkRanges): Promise<'ranges' | 'removed'> {
    const chunks = ChunkRanges.to(new BaoTree(entry.size).chunks)
    const present = (entry.complete ? chunks : entry.present.intersection(chunks)).difference(bad).canonicalize(entry.size)
    const storedData = entry.inlineData === undefined && entry.externalPath === undefined
    if (present.isEmpty() || !storedData) {
      await this.backend.deleteEntry(hex)
      await this.backend.removeBlob(hex)
      this.observers.notify(hex, bitfieldOf(undefined))
      return 'removed'
    }
    if (entry.complete) {
      let outboard = entry.inlineOutboard ?? new Uint8Array(0)
      if (entry.inlineOutboard === undefined && entry.size > GROUP_SIZE) {
        const file = await this.backend.openOutboard(hex) ?? missingFile(hex, 'outboard')
        try { outboard = (await file.readAt(0, new BaoTree(entry.size).outboardSize)).slice() } finally { await file.close() }
      }
      await outboardToPairs(this.backend, hex, entry.size, outboard)
    }
    const chunkPairs = new Map([...entry.chunkPairs].filter(([node]) => !bad.intersects(...chunkSpan(node))))
    await this.commitEntry(hex, { size: entry.size, sizeVerified: entry.sizeVerified, present, complete: false, chunkPairs })
    if (entry.complete) await this.backend.dropFiles(hex, { outboard: true })
    return 'ranges'
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

  // ---- internals ----------------------------------------------------------------------------

  private open (): void {
    if (this.closed) throw new StoreClosed()
  }

  private async loadEntry (hex: string): Promise<Entry | undefined> {
    this.open()
    return this.backend.getEntry(hex)
  }

  private async commitEntry (hex: string, entry: Entry, durable = true): Promise<void> {
    await this.backend.putEntry(hex, entry, durable)
    this.observers.notify(hex, bitfieldOf(entry))
  }

  /** Everything a validated walk needs to read this blob, complete or partial. */
  private async openBlob (hash: Uint8Array): Promise<OpenBlob> {
    const hex = toHex(hash)
    const entry = await this.loadEntry(hex)
    if (entry === undefined) throw new NotFound(hex)
    const files: BlobFile[] = []
    const keep = <T extends BlobFile | undefined>(file: T): T => { if (file !== undefined) files.push(file); return file }
    const close = async (): Promise<void> => { for (const file of files) await file.close() }
    try {
      let data: Uint8Array | RandomAccess
      if (entry.inlineData !== undefined) data = entry.inlineData
      else if (entry.externalPath !== undefined) data = keep(await this.backend.openExternal(entry.externalPath))
      else data = keep(await this.backend.openData(hex, false)) ?? missingFile(hex, 'data')
      let pairs: Uint8Array | RandomAccess | PairSource
      if (entry.complete) {
        if (entry.inlineOutboard !== undefined || entry.size <= GROUP_SIZE) pairs = entry.inlineOutboard ?? new Uint8Array(0)
        else pairs = preOrderPairs(keep(await this.backend.openOutboard(hex)) ?? missingFile(hex, 'outboard'))
      } else {
        const pairFile = keep(await this.backend.openPairs(hex, false))
        const chunkPairs = entry.chunkPairs
        pairs = {
          readPair: async (node: number) => {
            if (pairFile === undefined) throw new MissingRange(0, Math.ceil(entry.size / CHUNK_SIZE))
            return pairFile.readAt((node - 1) / 2 * PAIR_SIZE, PAIR_SIZE)
          },
          readChunkPair: (node: number) => chunkPairs.get(node)
        }
      }
      const blob: LocalBlob = { hash, size: entry.size, data, pairs, ...(entry.complete ? {} : { present: entry.present }) }
      return { entry, blob, close }
    } catch (err) {
      await close()
      throw err
    }
  }
}

/**
 * A file's bytes in READ_SIZE steps through two reused buffers, so the consumer may still be
 * writing one step while it hashes the next; no garbage piles up (fresh Buffers per read are
 * freed late by V8). The consumer must be done with a step before it asks for the one after next.
 */
async function * readChunks (handle: FileHandle, size: number): AsyncGenerator<Uint8Array> {
  const length = Math.min(READ_SIZE, Math.max(size, 1))
  const buffers = [new Uint8Array(length), new Uint8Array(length)]
  for (let offset = 0, step = 0; offset < size; step++) {
    const buffer = buffers[step % 2] as Uint8Array
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - offset), offset)
    if (bytesRead === 0) throw new Error(`file shrank while being added: ${offset} of ${size} bytes read`)
    yield buffer.subarray(0, bytesRead)
    offset += bytesRead
  }
}

/** Chunks under a chunk-level in-order node (chunk c = leaf 2c). */
function chunkSpan (node: number): [number, number] {
  let span = 1
  while (Math.floor(node / span) % 2 === 1) span *= 2
  const start = (node + 1 - span) / 2
  return [start, start + span]
}

async function collectChildren (reader: HashSeqReader): Promise<Uint8Array[]> {
  const children: Uint8Array[] = []
  for await (const child of reader) children.push(child)
  return children
}

function bitfieldOf (entry: Entry | undefined): Bitfield {
  if (entry === undefined) return { size: 0, sizeVerified: false, ranges: ChunkRanges.empty() }
  return { size: entry.size, sizeVerified: entry.sizeVerified, ranges: entry.complete ? ChunkRanges.all() : entry.present }
}

function checkValue (value: HashAndFormat): HashAndFormat {
  if (value === null || typeof value !== 'object') throw new TypeError('value must be { hash, format }')
  if (value.format !== 'raw' && value.format !== 'hashseq') throw new TypeError(`format must be 'raw' or 'hashseq', got ${String(value.format)}`)
  return { hash: hashArg('hash', value.hash), format: value.format }
}

function missingFile (hex: string, kind: string): never {
  throw new NotFound(hex, `the ${kind} of blob ${hex} is missing from the store`)
}
