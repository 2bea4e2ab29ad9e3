import type { ByteReader } from './bao/byte-reader.js'
import { CHUNK_SIZE, GROUP_LOG, GROUP_SIZE, PAIR_SIZE } from './bao/constants.js'
import { defaultCore } from './bao/core.js'
import { decodeRangesBatches } from './bao/decode.js'
import { InvalidSize } from './bao/errors.js'
import { equalBytes } from './bao/math.js'
import { BaoTree, chunkSpan } from './bao/tree.js'
import type { Backend, BlobFile, FileWrite } from './backend.js'
import { isDiskError } from './disk-errors.js'
import type { Entry } from './entry.js'
import type { AbortOptions, ImportResult } from './interface.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'

/**
 * Verified bytes gathered before they are written: large enough for few system calls, small
 * enough that the buffer is still in the CPU's cache when the kernel copies it (1 MiB batches
 * took less CPU per byte than 4 MiB ones, and held less memory).
 */
export const FLUSH_BYTES = 1 << 20
/** Verified bytes written between two syncs (one fdatasync of each file for all of them), at most. */
export const COMMIT_BYTES = 4 << 20
/** Longest a verified byte waits to be written, synced and recorded. */
export const FLUSH_MS = 1000

/** What the importer needs of its store. */
export interface ImportContext {
  backend: Backend
  /** Runs `fn` alone among the writers of this blob. */
  exclusive: <T>(hex: string, fn: () => Promise<T>) => Promise<T>
  loadEntry: (hex: string) => Promise<Entry | undefined>
  /** Persist the entry (after its data is durable) and tell observers. */
  commitEntry: (hex: string, entry: Entry, durable: boolean) => Promise<void>
}

/**
 * A batch: leaf bytes copied into a pooled buffer (taken at the first leaf) as runs of adjacent
 * bytes (so the input's buffers are let go at once and each run is one write), pairs by in-order
 * index, inner pairs.
 */
interface Pending {
  buffer: Uint8Array | undefined
  used: number
  runs: Array<{ offset: number, start: number, length: number }>
  pairs: Array<{ index: number, pair: Uint8Array }>
  chunkPairs: Array<{ node: number, pair: Uint8Array }>
}

/** Free batch buffers kept for the next import: a Downloader runs one import per stripe. */
const POOL_KEEP = 4
/** Kept buffers are let go after this long without an import asking for one. */
const POOL_IDLE_MS = 5000

/**
 * Batch buffers shared by every import in the process. A fresh 4 MiB buffer per import cost more
 * than the import itself for short stripes: zero-filling it, then collecting it.
 */
class BufferPool {
  private readonly free: Uint8Array[] = []
  private timer: NodeJS.Timeout | undefined
  take (): Uint8Array { return this.free.pop() ?? new Uint8Array(FLUSH_BYTES + GROUP_SIZE) }
  give (buffer: Uint8Array): void {
    if (this.free.length < POOL_KEEP) this.free.push(buffer)
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { this.free.length = 0 }, POOL_IDLE_MS)
    this.timer.unref()
  }
}

const pool = new BufferPool()

function isEmpty (batch: Pending): boolean {
  return batch.runs.length === 0 && batch.pairs.length === 0 && batch.chunkPairs.length === 0
}

/** Batches whose writes may be under way at once before decoding waits. */
const IN_FLIGHT = 2
/** Commits (syncs) queued before decoding waits for the disk. */
const COMMITS_QUEUED = 2

/**
 * Verify an encoded stream and write what verifies. Verified leaves are gathered in batches of
 * FLUSH_BYTES and written in order, each as soon as the one before it is written, so on a disk
 * that fills up an earlier batch is never the one left short; decoding waits only when IN_FLIGHT
 * batches are being written. Every COMMIT_BYTES written, every FLUSH_MS (a timer also fires
 * while the stream stalls), at the end and before an error is rethrown, the batches written so
 * far are committed: synced, one fdatasync of each file for all of them, and only then their new
 * present ranges recorded, in batch order. A crash at any moment leaves an entry that claims only
 * bytes that reached the disk, and a failed write leaves every earlier batch recorded.
 */
export async function importBao (ctx: ImportContext, hash: Uint8Array, hex: string, ranges: ChunkRanges,
  stream: AsyncIterable<Uint8Array> | ByteReader, options: AbortOptions = {}): Promise<ImportResult> {
  let declared: number | undefined
  const fresh = (): Pending => ({ buffer: undefined, used: 0, runs: [], pairs: [], chunkPairs: [] })
  let pending = fresh()
  let written = 0
  let complete = false
  let files: Promise<{ data: BlobFile, pairs: BlobFile }> | undefined
  let commits: Promise<void> = Promise.resolve()
  let lastWrites: Promise<void> = Promise.resolve()
  /** Batches written, in order, waiting for the next commit to be recorded. */
  const unrecorded: Pending[] = []
  /** Leaf bytes handed to writes since the last commit was queued. */
  let sinceCommit = 0
  let commitsQueued = 0
  /** The first failure of a write or commit: the import stops at its next batch. */
  let failure: { error: unknown } | undefined
  const inFlight: Array<Promise<void>> = []
  let timer: NodeJS.Timeout | undefined

  /** Start writing the pending batch (after the batches before it); resolves once it is written. */
  const write = (): Promise<void> => {
    const batch = pending
    if (isEmpty(batch)) return lastWrites
    pending = fresh()
    sinceCommit += batch.used
    files ??= openFiles(ctx.backend, hex)
    const opened = files
    const writes = lastWrites.then(async () => {
      await writeBatch(await opened, batch)
      unrecorded.push(batch)
    }).finally(() => { if (batch.buffer !== undefined) pool.give(batch.buffer) })
    // Handled at once: a write that fails while the import waits on the stream (a fetch from
    // the network) had no handler yet and Node ended the process (ENOSPC in writeBatch killed
    // `verity serve`). The error reaches the import at its next batch, or the final commit.
    writes.catch((error: unknown) => { failure ??= { error } })
    lastWrites = writes
    return writes
  }

  /** Write what is pending, then sync and record every batch written; resolves once recorded. */
  const commit = (): Promise<void> => {
    if (timer !== undefined) { clearTimeout(timer); timer = undefined }
    const writes = write()
    sinceCommit = 0
    commitsQueued++
    // A batch is recorded only after every earlier one: once one fails, none after it is.
    const recordWritten = async (): Promise<void> => {
      commitsQueued--
      // The batches written before a failed write are still synced and recorded (a write after
      // a failed one is never made, so they are a prefix); then the failure is the commit's.
      const failed = await writes.then(() => undefined, (error: unknown) => ({ error }))
      if (unrecorded.length > 0) {
        const group = unrecorded.splice(0, unrecorded.length)
        const open = await (files as Promise<{ data: BlobFile, pairs: BlobFile }>)
        await (open.data.syncWith?.(open.pairs) ?? Promise.all([open.data.sync(), open.pairs.sync()]))
        // One entry update for all of them: they were synced together.
        const result = await ctx.exclusive(hex, () => record(ctx, hash, hex, declared as number, group, open))
        written += result.written
        complete = result.complete
      }
      if (failed !== undefined) throw failed.error
    }
    // After a failed commit nothing more is recorded, but the writes still settle before the
    // import returns: it closes the files next, and close() of the store waits for imports.
    commits = commits.then(recordWritten, async (error: unknown) => {
      commitsQueued--
      await writes.catch(() => {})
      throw error
    })
    commits.catch((error: unknown) => { failure ??= { error } })
    return commits
  }

  /**
   * Pairs verified against the hash but not yet under a verified leaf. A pair's place (its node
   * number) follows from the tree shape, which the unproven size header draws: only a leaf that
   * verifies below a pair proves the pair sits where the header put it. So pairs are written only
   * then, and a lying size cannot place one far out in the pairs file.
   */
  const unconfirmed: Unconfirmed[] = []
  try {
    // Leaves are copied into the pending batch at once: the decoder may gather them in a buffer
    // it fills again once the next batch of items is asked for.
    for await (const items of decodeRangesBatches(hash, ranges, stream, { transient: true, ...(options.signal === undefined ? {} : { signal: options.signal }) })) {
      for (const item of items) {
        switch (item.type) {
          case 'size': {
            declared = item.size
            const entry = await ctx.loadEntry(hex)
            if (entry !== undefined) checkDeclared(entry, declared)
            complete = entry?.complete === true
            continue
          }
          case 'parent':
            if (!complete) unconfirmed.push({ block: true, node: item.node, pair: item.pair.slice() })
            continue
          case 'chunkParent':
            if (!complete) unconfirmed.push({ block: false, node: item.node, pair: item.pair.slice() })
            continue
          case 'leaf': {
            if (complete) continue
            const { offset, data } = item
            // In pre-order, the walk goes into a pair's subtree right after it and reaches a leaf
            // there before it leaves: a leaf lies under every pair still waiting. It confirms them all.
            for (const u of unconfirmed) {
              if (u.block) pending.pairs.push({ index: (u.node - 1) / 2, pair: u.pair })
              else pending.chunkPairs.push({ node: u.node, pair: u.pair })
            }
            unconfirmed.length = 0
            pending.buffer ??= pool.take()
            pending.buffer.set(data, pending.used)
            const last = pending.runs[pending.runs.length - 1]
            if (last !== undefined && last.offset + last.length === offset) last.length += data.length
            else pending.runs.push({ offset, start: pending.used, length: data.length })
            pending.used += data.length
            if (pending.used >= FLUSH_BYTES) {
              if (failure !== undefined) throw failure.error
              inFlight.push(write())
              if (inFlight.length >= IN_FLIGHT) await inFlight.shift()
              if (sinceCommit >= COMMIT_BYTES) {
                const committed = commit()
                if (commitsQueued > COMMITS_QUEUED) await committed
              }
            }
            timer ??= setTimeout(() => { void commit() }, FLUSH_MS)
            continue
          }
          default: {
            const unexpected: never = item
            throw new Error(`unexpected item ${JSON.stringify(unexpected)}`)
          }
        }
      }
    }
    await commit()
  } catch (err) {
    // What verified before the failure is recorded. A failed write outranks the stream's error:
    // no provider can mend a full or failing disk.
    const stored = await commit().then(() => undefined, (writeErr: unknown) => writeErr)
    throw isDiskError(stored) ? stored : err
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    const open = await files?.catch(() => undefined) // files that failed to open: the import has thrown that error already, nothing to close
    await open?.data.close()
    await open?.pairs.close()
  }
  return { bytesWritten: written, complete }
}

/** A verified pair waiting for a leaf below it (a block-level parent, or a pair inside a group). */
interface Unconfirmed { block: boolean, node: number, pair: Uint8Array }

/**
 * Whether a stream declaring `declared` bytes may add to what the store holds. A proven size is a
 * fact: another declaration is a lie. An unproven one is a claim like the new one, except that
 * the present chunks are real (each verified on a path from the root): a declaration that ends
 * before them is a lie; any other replaces the claim.
 */
function checkDeclared (entry: Entry, declared: number): void {
  if (entry.size === declared) return
  if (entry.sizeVerified) throw new InvalidSize(declared, `stream declares size ${declared}, the store holds the proven size ${entry.size}`)
  const chunks = Math.max(1, Math.ceil(declared / CHUNK_SIZE))
  const present = entry.present.boundaries
  const end = present.length % 2 === 1 ? Infinity : present[present.length - 1] ?? 0
  if (end > chunks) throw new InvalidSize(declared, `stream declares size ${declared}, but verified chunks up to ${end} are here`)
}

/** The blob's data and pairs files, created if need be; neither is left open if the other fails. */
async function openFiles (backend: Backend, hex: string): Promise<{ data: BlobFile, pairs: BlobFile }> {
  const data = await backend.openData(hex, true) as BlobFile
  try {
    return { data, pairs: await backend.openPairs(hex, true) as BlobFile }
  } catch (err) {
    await data.close()
    throw err
  }
}

/**
 * Write a batch: one write per run of adjacent leaf bytes, one per run of adjacent pairs, as one
 * operation where the files can (FsFile: one job of the thread pool for them all).
 */
async function writeBatch (files: { data: BlobFile, pairs: BlobFile }, batch: Pending): Promise<void> {
  const leaves = batch.buffer ?? new Uint8Array(0) // no buffer: no leaves, no runs
  const dataWrites = batch.runs.map(run => ({ offset: run.offset, bytes: leaves.subarray(run.start, run.start + run.length) }))
  const pairWrites: FileWrite[] = []
  const pairs = [...batch.pairs].sort((a, b) => a.index - b.index)
  for (let i = 0; i < pairs.length;) {
    let j = i + 1
    while (j < pairs.length && (pairs[j] as { index: number }).index === (pairs[j - 1] as { index: number }).index + 1) j++
    const run = new Uint8Array((j - i) * PAIR_SIZE)
    for (let k = i; k < j; k++) run.set((pairs[k] as { pair: Uint8Array }).pair, (k - i) * PAIR_SIZE)
    pairWrites.push({ offset: (pairs[i] as { index: number }).index * PAIR_SIZE, bytes: run })
    i = j
  }
  if (files.data.writeWith !== undefined) {
    await files.data.writeWith(dataWrites, files.pairs, pairWrites)
    return
  }
  for (const { offset, bytes } of dataWrites) await files.data.writeAt(offset, bytes)
  for (const { offset, bytes } of pairWrites) await files.pairs.writeAt(offset, bytes)
}

/** Record synced batches in the entry, in one update; returns verified bytes recorded and whether the blob is complete. */
async function record (ctx: ImportContext, hash: Uint8Array, hex: string, size: number, batches: Pending[],
  files: { data: BlobFile, pairs: BlobFile }): Promise<{ written: number, complete: boolean }> {
  const existing = await ctx.loadEntry(hex)
  if (existing?.complete === true) return { written: 0, complete: true }
  if (existing !== undefined && existing.size !== size) {
    // Checked when the stream began, but another import may have recorded since. A new claim
    // replaces an unproven one; what is present stays (its pairs are keyed by node, whatever the size).
    checkDeclared(existing, size)
    existing.size = size
  }
  const entry: Entry = existing ?? { size, sizeVerified: false, present: ChunkRanges.empty(), complete: false, chunkPairs: new Map() }
  const tree = new BaoTree(size, GROUP_LOG)
  let present = entry.present
  let written = 0
  for (const batch of batches) {
    for (const { offset, length } of batch.runs) {
      written += length
      present = present.union(ChunkRanges.range(Math.floor(offset / CHUNK_SIZE), Math.max(1, Math.ceil((offset + length) / CHUNK_SIZE))))
      if (offset + length === size) entry.sizeVerified = true
    }
    for (const { node, pair } of batch.chunkPairs) entry.chunkPairs.set(node, pair)
  }
  entry.present = present.canonicalize(size)
  // A group whose chunks are all here is checked whole from now on: drop its inner pairs.
  for (const node of entry.chunkPairs.keys()) {
    const group = Math.floor(chunkSpan(node)[0] / tree.blockChunks) * tree.blockChunks
    if (entry.present.containsRange(group, Math.min(group + tree.blockChunks, tree.chunks))) entry.chunkPairs.delete(node)
  }
  entry.complete = entry.sizeVerified && entry.present.containsRange(0, tree.chunks)
  if (entry.complete) await finish(ctx.backend, hash, hex, entry, tree, files.data, files.pairs)
  await ctx.commitEntry(hex, entry, entry.complete)
  if (entry.complete) await ctx.backend.dropFiles(hex, { pairs: true, data: entry.inlineData !== undefined })
  return { written, complete: entry.complete }
}

/** In-order pairs read at a time when an import finishes (1 MiB). */
const FINISH_READ_PAIRS = 16384

/** All chunks are here: turn the in-order pairs into the pre-order outboard (or inline it). */
async function finish (backend: Backend, hash: Uint8Array, hex: string, entry: Entry, tree: BaoTree, data: BlobFile, pairs: BlobFile): Promise<void> {
  const outboard = new Uint8Array(tree.outboardSize)
  // The in-order pairs (pair i is node 2i + 1), read in order a window at a time, each put in
  // its pre-order place.
  const count = outboard.length / PAIR_SIZE
  for (let first = 0; first < count; first += FINISH_READ_PAIRS) {
    const n = Math.min(FINISH_READ_PAIRS, count - first)
    const bytes = await pairs.readAt(first * PAIR_SIZE, n * PAIR_SIZE)
    for (let i = 0; i < n; i++) {
      outboard.set(bytes.subarray(i * PAIR_SIZE, (i + 1) * PAIR_SIZE), tree.preOrderIndex(2 * (first + i) + 1) * PAIR_SIZE)
    }
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

