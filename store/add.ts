import { readFile, rm, stat, type FileHandle } from 'node:fs/promises'
import { GROUP_LOG } from './bao/constants.js'
import { OutboardBuilder, type HashedBlob } from './bao/outboard.js'
import { BaoTree } from './bao/tree.js'
import type { Backend, BlobFile } from './backend.js'
import type { Entry } from './entry.js'
import { toHex } from './hash-text.js'
import type { AddOptions, AddProgress, AddResult, HashAndFormat, Tags, TempTag } from './interface.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'

/** Bytes read per step when adding a file or stream. */
export const READ_SIZE = 1 << 20

/** What adding needs of its store. */
export interface AddContext {
  backend: Backend
  /** Runs `fn` alone among the writers of this blob. */
  exclusive: <T>(hex: string, fn: () => Promise<T>) => Promise<T>
  loadEntry: (hex: string) => Promise<Entry | undefined>
  /** Persist the entry (after its data is durable) and tell observers. */
  commitEntry: (hex: string, entry: Entry) => Promise<void>
  /** Keep a value from GC until released. */
  pin: (value: HashAndFormat) => TempTag
  tags: Tags
}

/**
 * Hash the bytes while writing them to a temp file (or not at all: `external`), then move them
 * in by hash. Order for crash safety: data and outboard durable, then the entry, then the tag;
 * a pin keeps the new blob from a concurrent GC in between.
 */
export async function addFrom (ctx: AddContext, source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, size: number | undefined,
emit: (item: AddProgress) => void, options: AddOptions, external?: string): Promise<AddResult> {
  const builder = new OutboardBuilder(size === undefined ? {} : { size })
  const temp = external === undefined ? await ctx.backend.tempData() : undefined
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
        emit(progress(copied, temp !== undefined, size))
        reported = copied
      }
    }
    await writing
    const hashed = builder.finish()
    emit(progress(copied, temp !== undefined, size))
    return await commitNew(ctx, hashed, options, async (hex, entry) => {
      if (external !== undefined) {
        entry.externalPath = external
      } else if (copied <= ctx.backend.inlineLimit) {
        entry.inlineData = (await (temp as { file: BlobFile }).file.readAt(0, copied)).slice()
      } else {
        await temp?.adopt(hex)
        adopted = true
      }
    })
  } finally {
    if (!adopted) await temp?.discard()
  }
}

/**
 * Move the file at `path` in as the blob `hashed` claims it is, without hashing it again (the
 * caller hashed its bytes; reads still check every byte against the hash, so a false claim makes
 * a blob that fails to read, never wrong bytes). Order as for an add: the file durable and moved
 * in (FsStore: fdatasync, rename), then the entry, then the tag. The file is gone from `path`
 * once this resolves, and left there if it fails.
 */
export async function adoptUnchecked (ctx: AddContext, path: string, hashed: HashedBlob, options: AddOptions): Promise<AddResult> {
  const { size } = await stat(path)
  if (size !== hashed.size) throw new RangeError(`${path} is ${size} bytes, the blob claimed for it ${hashed.size}`)
  const outboardSize = new BaoTree(size, GROUP_LOG).outboardSize
  if (hashed.outboard.length !== outboardSize) throw new RangeError(`outboard of ${hashed.outboard.length} bytes for ${size} bytes of data, expected ${outboardSize}`)
  let moved = false
  const result = await commitNew(ctx, hashed, options, async (hex, entry) => {
    if (size <= ctx.backend.inlineLimit) {
      entry.inlineData = new Uint8Array(await readFile(path))
    } else {
      await ctx.backend.adoptFile(path, hex)
      moved = true
    }
  })
  // Inlined, or the store had the blob already: the file has no further use.
  if (!moved) await rm(path, { force: true })
  return result
}

/**
 * Record a new complete blob once its bytes are hashed: `place` puts its data where the entry
 * says (a file moved in, inline bytes, a reference), under the blob's writer lock, unless the
 * store holds it complete already. Order for crash safety: data and outboard durable, then the
 * entry, then the tag; a pin keeps the blob from a concurrent GC in between.
 */
async function commitNew (ctx: AddContext, hashed: HashedBlob, options: AddOptions, place: (hex: string, entry: Entry) => Promise<void>): Promise<AddResult> {
  const { hash, outboard, size } = hashed
  const hex = toHex(hash)
  const format = options.format ?? 'raw'
  const pin = ctx.pin({ hash, format })
  try {
    await ctx.exclusive(hex, async () => {
      const existing = await ctx.loadEntry(hex)
      if (existing?.complete === true && existing.externalPath === undefined) return
      if (existing !== undefined) await ctx.backend.removeBlob(hex)
      const entry: Entry = { size, sizeVerified: true, present: ChunkRanges.all(), complete: true, chunkPairs: new Map() }
      await place(hex, entry)
      if (outboard.length > 0 && outboard.length <= ctx.backend.inlineLimit) entry.inlineOutboard = outboard
      else if (outboard.length > 0) await ctx.backend.writeOutboard(hex, outboard)
      await ctx.commitEntry(hex, entry)
    })
    const tag = options.tag === false ? undefined : options.tag ?? await ctx.tags.create({ hash, format })
    if (typeof options.tag === 'string') await ctx.tags.set(options.tag, { hash, format })
    return { hash, size, tag }
  } finally {
    pin.release()
  }
}

/**
 * A file's bytes in READ_SIZE steps through two reused buffers, so the consumer may still be
 * writing one step while it hashes the next; no garbage piles up (fresh Buffers per read are
 * freed late by V8). The consumer must be done with a step before it asks for the one after next.
 */
export async function * readChunks (handle: FileHandle, size: number): AsyncGenerator<Uint8Array> {
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

function progress (hashed: number, copying: boolean, total: number | undefined): AddProgress {
  return { type: 'add:progress', detail: { hashed, copied: copying ? hashed : 0, ...(total === undefined ? {} : { total }) } }
}
