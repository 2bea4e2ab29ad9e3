import { CHUNK_SIZE, GROUP_LOG, PAIR_SIZE } from './bao/constants.js'
import { defaultCore } from './bao/core.js'
import { decodeRanges } from './bao/decode.js'
import { InvalidSize } from './bao/errors.js'
import { equalBytes, trailingOnes } from './bao/math.js'
import { BaoTree } from './bao/tree.js'
import type { Backend, BlobFile } from './backend.js'
import type { Entry } from './entry.js'
import type { AbortOptions, ImportResult } from './interface.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'

/** Verified bytes buffered before they are written, synced and recorded. */
export const FLUSH_BYTES = 4 << 20
/** Longest a verified byte waits to be written, synced and recorded. */
export const FLUSH_MS = 1000

/** What the importer needs of its store. */
export interface ImportContext {
  backend: Backend
  /** Runs `fn` alone among the writers of this blob. */
  exclusive: <T>(hex: string, fn: () => Promise<T>) => Promise<T>
  loadEntry: (hex: string) => Promise<Entry | undefined>
  /** Persist the entry (after its data is durable) and tell observers. */
  commitEntry: (hex: string, entry: Entry) => Promise<void>
}

interface Pending {
  leaves: Array<{ offset: number, data: Uint8Array }>
  pairs: Array<{ node: number, pair: Uint8Array }>
  chunkPairs: Array<{ node: number, pair: Uint8Array }>
  bytes: number
}

const empty = (): Pending => ({ leaves: [], pairs: [], chunkPairs: [], bytes: 0 })

/**
 * Verify an encoded stream and write what verifies. Items are buffered and flushed every
 * FLUSH_BYTES or FLUSH_MS (a timer also fires while the stream stalls), at the end, and before an
 * error is rethrown, so what verified is kept. A flush writes data and pairs, syncs them, and only
 * then records the new present ranges: a crash at any moment leaves an entry that claims only
 * bytes that reached the files.
 */
export async function importBao (ctx: ImportContext, hash: Uint8Array, hex: string, ranges: ChunkRanges,
  stream: AsyncIterable<Uint8Array>, options: AbortOptions = {}): Promise<ImportResult> {
  let declared: number | undefined
  let pending = empty()
  let written = 0
  let complete = false
  let chain: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined

  const flush = (): Promise<void> => {
    if (timer !== undefined) { clearTimeout(timer); timer = undefined }
    const batch = pending
    pending = empty()
    chain = chain.then(async () => {
      if (batch.leaves.length === 0 && batch.pairs.length === 0 && batch.chunkPairs.length === 0) return
      const result = await ctx.exclusive(hex, () => apply(ctx, hash, hex, declared as number, batch))
      written += result.written
      complete = result.complete
    })
    return chain
  }

  try {
    for await (const item of decodeRanges(hash, ranges, stream, options.signal === undefined ? {} : { signal: options.signal })) {
      switch (item.type) {
        case 'size': {
          declared = item.size
          const entry = await ctx.loadEntry(hex)
          if (entry !== undefined && entry.size !== declared && (entry.sizeVerified || !entry.present.isEmpty())) {
            throw new InvalidSize(declared, `stream declares size ${declared}, the store holds ${entry.sizeVerified ? 'the proven' : 'a declared'} size ${entry.size}`)
          }
          complete = entry?.complete === true
          continue
        }
        case 'parent':
          if (!complete) pending.pairs.push({ node: item.node, pair: item.pair })
          continue
        case 'chunkParent':
          if (!complete) pending.chunkPairs.push({ node: item.node, pair: item.pair })
          continue
        case 'leaf':
          if (complete) continue
          pending.leaves.push({ offset: item.offset, data: item.data })
          pending.bytes += item.data.length
          if (pending.bytes >= FLUSH_BYTES) await flush()
          else timer ??= setTimeout(() => { flush().catch(() => {}) }, FLUSH_MS)
          continue
        default: {
          const unexpected: never = item
          throw new Error(`unexpected item ${JSON.stringify(unexpected)}`)
        }
      }
    }
  } catch (err) {
    await flush().catch(() => {})
    throw err
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
  await flush()
  return { bytesWritten: written, complete }
}

/** Write one batch and record it; returns verified bytes written and whether the blob is complete. */
async function apply (ctx: ImportContext, hash: Uint8Array, hex: string, size: number, batch: Pending): Promise<{ written: number, complete: boolean }> {
  const existing = await ctx.loadEntry(hex)
  if (existing?.complete === true) return { written: 0, complete: true }
  const entry: Entry = existing ?? { size, sizeVerified: false, present: ChunkRanges.empty(), complete: false, chunkPairs: new Map() }
  const tree = new BaoTree(size, GROUP_LOG)
  const data = await ctx.backend.openData(hex, true) as BlobFile
  const pairs = await ctx.backend.openPairs(hex, true) as BlobFile
  try {
    let present = entry.present
    let written = 0
    for (const run of contiguous(batch.leaves)) {
      await data.writeAt(run.offset, run.data)
      written += run.data.length
      present = present.union(ChunkRanges.range(Math.floor(run.offset / CHUNK_SIZE), Math.max(1, Math.ceil((run.offset + run.data.length) / CHUNK_SIZE))))
      if (run.offset + run.data.length === size) entry.sizeVerified = true
    }
    for (const { node, pair } of batch.pairs) await pairs.writeAt((node - 1) / 2 * PAIR_SIZE, pair)
    for (const { node, pair } of batch.chunkPairs) entry.chunkPairs.set(node, pair)
    await data.sync()
    await pairs.sync()
    entry.present = present.canonicalize(size)
    // A group whose chunks are all here is checked whole from now on: drop its inner pairs.
    for (const node of entry.chunkPairs.keys()) {
      const level = trailingOnes(node)
      const start = (node + 1 - 2 ** level) / 2
      const group = Math.floor(start / tree.blockChunks) * tree.blockChunks
      if (entry.present.containsRange(group, Math.min(group + tree.blockChunks, tree.chunks))) entry.chunkPairs.delete(node)
    }
    entry.complete = entry.sizeVerified && entry.present.containsRange(0, tree.chunks)
    if (entry.complete) await finish(ctx.backend, hash, hex, entry, tree, data, pairs)
    await ctx.commitEntry(hex, entry)
    if (entry.complete) await ctx.backend.dropFiles(hex, { pairs: true, data: entry.inlineData !== undefined })
    return { written, complete: entry.complete }
  } finally {
    await data.close()
    await pairs.close()
  }
}

/** All chunks are here: turn the in-order pairs into the pre-order outboard (or inline it). */
async function finish (backend: Backend, hash: Uint8Array, hex: string, entry: Entry, tree: BaoTree, data: BlobFile, pairs: BlobFile): Promise<void> {
  const outboard = new Uint8Array(tree.outboardSize)
  let i = 0
  for (const node of tree.preOrderParents()) {
    outboard.set(await pairs.readAt((node - 1) / 2 * PAIR_SIZE, PAIR_SIZE), i * PAIR_SIZE)
    i++
  }
  if (tree.blocks > 1 && !equalBytes(defaultCore().parentCV(outboard.subarray(0, PAIR_SIZE), true), hash)) {
    throw new Error(`outboard of ${hex} does not match its hash after import`)
  }
  entry.present = ChunkRanges.all()
  entry.chunkPairs.clear()
  if (tree.size <= backend.inlineLimit) {
    entry.inlineData = (await data.readAt(0, tree.size)).slice()
  } else if (outboard.length <= backend.inlineLimit && outboard.length > 0 && backend.inlineLimit > 0) {
    entry.inlineOutboard = outboard
  } else if (outboard.length > 0) {
    await backend.writeOutboard(hex, outboard)
  }
}

/** Leaves merged into runs of adjacent bytes, so each run is one write. */
function contiguous (leaves: Array<{ offset: number, data: Uint8Array }>): Array<{ offset: number, data: Uint8Array }> {
  const sorted = [...leaves].sort((a, b) => a.offset - b.offset)
  const runs: Array<{ offset: number, parts: Uint8Array[], length: number }> = []
  for (const leaf of sorted) {
    const last = runs[runs.length - 1]
    if (last !== undefined && last.offset + last.length === leaf.offset) {
      last.parts.push(leaf.data)
      last.length += leaf.data.length
    } else {
      runs.push({ offset: leaf.offset, parts: [leaf.data], length: leaf.data.length })
    }
  }
  return runs.map(run => {
    if (run.parts.length === 1) return { offset: run.offset, data: run.parts[0] as Uint8Array }
    const data = new Uint8Array(run.length)
    let at = 0
    for (const part of run.parts) { data.set(part, at); at += part.length }
    return { offset: run.offset, data }
  })
}
