import type { FileHandle } from 'node:fs/promises'
import { OutboardBuilder } from './bao/outboard.js'
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
    const { hash, outboard } = builder.finish()
    emit(progress(copied, temp !== undefined, size))
    const hex = toHex(hash)
    const format = options.format ?? 'raw'
    const pin = ctx.pin({ hash, format })
    try {
      await ctx.exclusive(hex, async () => {
        const existing = await ctx.loadEntry(hex)
        if (existing?.complete === true && existing.externalPath === undefined) return
        if (existing !== undefined) await ctx.backend.removeBlob(hex)
        const entry: Entry = { size: copied, sizeVerified: true, present: ChunkRanges.all(), complete: true, chunkPairs: new Map() }
        if (external !== undefined) {
          entry.externalPath = external
        } else if (copied <= ctx.backend.inlineLimit) {
          entry.inlineData = (await (temp as { file: BlobFile }).file.readAt(0, copied)).slice()
        } else {
          await temp?.adopt(hex)
          adopted = true
        }
        if (outboard.length > 0 && outboard.length <= ctx.backend.inlineLimit) entry.inlineOutboard = outboard
        else if (outboard.length > 0) await ctx.backend.writeOutboard(hex, outboard)
        await ctx.commitEntry(hex, entry)
      })
      const tag = options.tag === false ? undefined : options.tag ?? await ctx.tags.create({ hash, format })
      if (typeof options.tag === 'string') await ctx.tags.set(options.tag, { hash, format })
      return { hash, size: copied, tag }
    } finally {
      pin.release()
    }
  } finally {
    if (!adopted) await temp?.discard()
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
