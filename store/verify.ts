import type { Backend } from './backend.js'
import { CHUNK_SIZE, GROUP_SIZE, PAIR_SIZE } from './bao/constants.js'
import { LeafHashMismatch, MissingRange, ParentHashMismatch } from './bao/errors.js'
import { BaoTree } from './bao/tree.js'
import { walkValidated, type LocalBlob } from './bao/validated-walk.js'
import { ChunkRanges } from './ranges/chunk-ranges.js'

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
