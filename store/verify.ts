import type { Backend } from './backend.js'
import type { Entry } from './entry.js'
import { toHex } from './hash-text.js'
import type { VerifyOptions, VerifyResult } from './interface.js'
import { missingFile, type OpenBlob } from './open-blob.js'
import { chunkSpan } from './bao/tree.js'
import { CHUNK_SIZE, GROUP_SIZE, PAIR_SIZE } from './bao/constants.js'
import { LeafHashMismatch, MissingRange, ParentHashMismatch } from './bao/errors.js'
import { BaoTree } from './bao/tree.js'
import { walkValidated, type LocalBlob } from './bao/validated-walk.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'

/** What verifying needs of its store. */
export interface VerifyContext {
  backend: Backend
  /** Runs `fn` alone among the writers of this blob. */
  exclusive: <T>(hex: string, fn: () => Promise<T>) => Promise<T>
  loadEntry: (hex: string) => Promise<Entry | undefined>
  commitEntry: (hex: string, entry: Entry) => Promise<void>
  openBlob: (hash: Uint8Array) => Promise<OpenBlob>
  /** The blob is gone: tell its observers. */
  forget: (hex: string) => void
}

/**
 * Re-hash what is stored of a blob against its hash and outboard; with `repair`, under the blob's
 * writer lock, make the bad groups missing (a complete blob becomes partial) or remove the blob.
 */
export async function verifyBlob (ctx: VerifyContext, hash: Uint8Array, options: VerifyOptions = {}): Promise<VerifyResult> {
  const hex = toHex(hash)
  const check = async (): Promise<VerifyResult> => {
    let scan: Scan
    let entry: Entry
    try {
      const opened = await ctx.openBlob(hash)
      entry = opened.entry
      try {
        scan = await scanBlob(opened.blob, options.signal)
      } finally {
        await opened.close()
      }
    } catch (err) {
      // A referenced file that is gone cannot even be opened: all of it is bad.
      const found = await ctx.loadEntry(hex)
      if (found === undefined || (err as Error).name === 'AbortError' || options.signal?.aborted === true) throw err
      entry = found
      scan = { checkedBytes: 0, bad: ChunkRanges.range(0, new BaoTree(found.size).chunks), error: err as Error }
    }
    const result: VerifyResult = { checkedBytes: scan.checkedBytes, bad: scan.bad, ...(scan.error === undefined ? {} : { error: scan.error.message }) }
    if (options.repair !== true || scan.bad.isEmpty()) return result
    return { ...result, repaired: await dropBad(ctx, hex, entry, scan.bad) }
  }
  return options.repair === true ? await ctx.exclusive(hex, check) : await check()
}

/** Make the bad groups missing (a complete blob becomes partial), or remove the blob. */
async function dropBad (ctx: VerifyContext, hex: string, entry: Entry, bad: ChunkRanges): Promise<'ranges' | 'removed'> {
  const chunks = ChunkRanges.to(new BaoTree(entry.size).chunks)
  const present = (entry.complete ? chunks : entry.present.intersection(chunks)).difference(bad).canonicalize(entry.size)
  const storedData = entry.inlineData === undefined && entry.externalPath === undefined
  if (present.isEmpty() || !storedData) {
    await ctx.backend.deleteEntry(hex)
    await ctx.backend.removeBlob(hex)
    ctx.forget(hex)
    return 'removed'
  }
  if (entry.complete) {
    let outboard = entry.inlineOutboard ?? new Uint8Array(0)
    if (entry.inlineOutboard === undefined && entry.size > GROUP_SIZE) {
      const file = await ctx.backend.openOutboard(hex) ?? missingFile(hex, 'outboard')
      try { outboard = (await file.readAt(0, new BaoTree(entry.size).outboardSize)).slice() } finally { await file.close() }
    }
    await outboardToPairs(ctx.backend, hex, entry.size, outboard)
  }
  const chunkPairs = new Map([...entry.chunkPairs].filter(([node]) => !bad.intersects(...chunkSpan(node))))
  await ctx.commitEntry(hex, { size: entry.size, sizeVerified: entry.sizeVerified, present, complete: false, chunkPairs })
  if (entry.complete) await ctx.backend.dropFiles(hex, { outboard: true })
  return 'ranges'
}

/** Chunks per group: what verify drops at least, so no group is left partly present without its inner pairs. */
const GROUP_CHUNKS = GROUP_SIZE / CHUNK_SIZE

export interface Scan {
  /** Bytes read and found to match the hash. */
  checkedBytes: number
  /** Chunks that do not match (data or pairs), in whole groups, clipped at the blob's end. */
  bad: ChunkRanges
  /** A read that failed outright (a referenced file shrank or vanished): everything from there on is bad. */
  error?: Error
}

/**
 * Check every present chunk of a local blob against its hash, going on past what does not match:
 * a failing node's chunks are counted bad and the walk resumes after them. Only an abort throws.
 */
export async function scanBlob (blob: LocalBlob, signal?: AbortSignal): Promise<Scan> {
  const tree = new BaoTree(blob.size)
  // Closed at the last chunk: an open-ended set past the end would mean the last chunk again.
  let todo = (blob.present ?? ChunkRanges.all()).canonicalize(blob.size).intersection(ChunkRanges.to(tree.chunks))
  let bad = ChunkRanges.empty()
  let checkedBytes = 0
  let error: Error | undefined
  while (!todo.isEmpty()) {
    let reached = 0
    try {
      for await (const item of walkValidated(blob, todo, signal)) {
        if (item.type !== 'data') continue
        checkedBytes += item.data.length
        reached = Math.ceil((item.offset + item.data.length) / CHUNK_SIZE)
      }
      break
    } catch (err) {
      if (signal?.aborted === true) throw err
      let start: number
      let end: number
      if (err instanceof LeafHashMismatch) {
        start = Math.floor(err.offset / CHUNK_SIZE)
        end = Math.max(start + 1, Math.ceil((err.offset + err.length) / CHUNK_SIZE))
      } else if (err instanceof ParentHashMismatch || err instanceof MissingRange) {
        start = err.startChunk
        end = err.endChunk
      } else {
        error = err as Error
        start = reached
        end = tree.chunks
      }
      const widened = ChunkRanges.range(
        Math.floor(start / GROUP_CHUNKS) * GROUP_CHUNKS,
        Math.min(tree.chunks, Math.ceil(end / GROUP_CHUNKS) * GROUP_CHUNKS)
      )
      bad = bad.union(widened)
      todo = todo.difference(ChunkRanges.to(Math.ceil(end / GROUP_CHUNKS) * GROUP_CHUNKS))
      if (error !== undefined) break
    }
  }
  return { checkedBytes, bad, ...(error === undefined ? {} : { error }) }
}

/**
 * A complete blob's pre-order outboard rewritten as a partial blob's in-order pairs file, so its
 * good groups can stay while the bad ones are fetched again. Synced before it returns.
 */
export async function outboardToPairs (backend: Backend, hex: string, size: number, outboard: Uint8Array): Promise<void> {
  const tree = new BaoTree(size)
  const pairs = await backend.openPairs(hex, true)
  if (pairs === undefined) throw new Error(`could not create the pairs of ${hex}`)
  try {
    // Parent node n sits at in-order index (n - 1) / 2: indices 0 .. blocks - 2, one write.
    const inOrder = new Uint8Array(tree.outboardSize)
    let i = 0
    for (const node of tree.preOrderParents()) {
      inOrder.set(outboard.subarray(i * PAIR_SIZE, (i + 1) * PAIR_SIZE), (node - 1) / 2 * PAIR_SIZE)
      i++
    }
    await pairs.writeAt(0, inOrder)
    await pairs.sync()
  } finally {
    await pairs.close()
  }
}
