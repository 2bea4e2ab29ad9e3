import { readFile, rm, stat } from 'node:fs/promises'
import { GROUP_LOG } from './bao/constants.js'
import { OutboardBuilder, type HashedBlob } from './bao/outboard.js'
import { BaoTree } from './bao/tree.js'
import type { Backend, BlobFile } from './backend.js'
import type { Entry } from './entry.js'
import { toHex } from './hash-text.js'
import type { AddOptions, AddProgress, AddResult, HashAndFormat, Tags, TempTag } from './interface.js'
import type { HeldChunks } from './add-reader.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'

/** Bytes read per step when adding a file or stream. */
export const READ_SIZE = 1 << 20

/**
 * Bytes written between two fdatasyncs of a copy, each started behind the writes before it and
 * left to run while the copy goes on: the disk takes the bytes while the rest is hashed, not all
 * at the end (a page-cache-sized file would otherwise wait for its whole write-back in the last
 * fdatasync, before its rename).
 */
const SYNC_STEP = 32 << 20

/** How addFile reads (store/add-reader.ts). */
export { readAhead } from './add-reader.js'

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
  // Writes in flight while the next chunks are read and hashed: as many as the source lets the
  // consumer hold its chunks, less one (readAhead's ring: 3; other sources: 1).
  const writes: Array<Promise<void>> = []
  const lender = source as Partial<HeldChunks>
  // Chunks being hashed on libuv's threads (OutboardBuilder.updateAsync), several at once, when
  // the source lends its buffers on the HeldChunks terms (readAhead): each may be read until its
  // promise settles. Other chunks are hashed at once, as they come.
  const hashing: Array<Promise<void>> = []
  const hashAside = lender.held !== undefined && size !== undefined
  let syncing: { done: boolean, promise: Promise<void> } | undefined
  try {
    let copied = 0
    let reported = 0
    let synced = 0
    const held = lender.held ?? 2
    for await (const chunk of source) {
      options.signal?.throwIfAborted()
      if (hashAside) {
        const hashed = builder.updateAsync(chunk)
        hashed.catch(() => {}) // awaited below or after the loop, like the writes
        hashing.push(hashed)
      } else {
        builder.update(chunk)
      }
      if (temp !== undefined) {
        const write = temp.file.writeAt(copied, chunk)
        // Awaited below or after the loop; until then (while the source is read, or if it
        // throws) a failed write must not count as unhandled, which would end the process.
        write.catch(() => {})
        writes.push(write)
        if (syncing?.done === true) {
          await syncing.promise // throws what the sync threw
          syncing = undefined
        }
        if (syncing === undefined && copied + chunk.length - synced >= SYNC_STEP) {
          const file = temp.file
          const sync = { done: false, promise: Promise.allSettled(writes).then(async () => { await file.sync() }) }
          sync.promise.catch(() => {}).finally(() => { sync.done = true }) // awaited above or after the loop
          syncing = sync
          synced = copied + chunk.length
        }
        while (writes.length > held - 1) await writes.shift()
      }
      while (hashing.length > held - 1) await hashing.shift()
      copied += chunk.length
      if (copied - reported >= READ_SIZE) {
        emit(progress(copied, temp !== undefined, size))
        reported = copied
      }
    }
    for (const hashed of hashing.splice(0)) await hashed
    for (const write of writes.splice(0)) await write
    await syncing?.promise
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
    await Promise.allSettled([...writes, ...hashing, syncing?.promise]) // none may still write into a temp file being discarded
    lender.release?.() // nor read from a buffer given back
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

function progress (hashed: number, copying: boolean, total: number | undefined): AddProgress {
  return { type: 'add:progress', detail: { hashed, copied: copying ? hashed : 0, ...(total === undefined ? {} : { total }) } }
}
