import type { Logger } from '@libp2p/interface'
import type { BlobStore } from '../../store/interface.js'
import { OriginChanged, OriginRangeIgnored } from './errors.js'
import { fetchPieces } from './fetch-pieces.js'
import type { GuardedBackend } from './guard.js'
import type { FileHead, OriginImportProgress, OriginImportResult } from './interface.js'
import { defaultPieceSize, groupAligned } from './pieces.js'
import { PrefixHasher } from './prefix-hasher.js'
import type { StagingArea } from './staging.js'
import type { UrlIndex } from './url-index.js'

/** What importing one file needs of the origins service. */
export interface FileImportContext {
  store: BlobStore
  staging: () => Promise<StagingArea>
  index: UrlIndex
  checkpointMs: number
  log: Logger
}

/** One file task, its head answered. */
export interface FileTask {
  taskId: string
  backend: GuardedBackend
  safeUrl: string
  head: FileHead
  headers: Record<string, string> | undefined
  pieceSize: number | undefined
  concurrency: number
  /** The store tag to set: `origin:<taskId>`. */
  tag: string
  signal: AbortSignal
  emit: (event: OriginImportProgress) => void
}

/**
 * Stage the file's pieces (resuming what an earlier import of this version left), hashing the
 * written prefix as it grows, then move the staged file into the store as the blob (no second
 * pass: `adoptFileUnchecked`, fed the hash of the bytes read back from the file), tag it, and
 * record the task in the URL index. A file that changed at the origin loses its staged bytes; any
 * other failure keeps them for the next import, and the store never sees them.
 */
export async function importFile (ctx: FileImportContext, task: FileTask): Promise<OriginImportResult> {
  const { head, taskId } = task
  const validators = { size: head.size, ...(head.etag === undefined ? {} : { etag: head.etag }), ...(head.lastModified === undefined ? {} : { lastModified: head.lastModified }) }
  if (head.size === 0) {
    // Nothing to fetch: the empty blob.
    const added = await ctx.store.addBytes(new Uint8Array(0), { tag: task.tag, signal: task.signal })
    return await recorded(ctx, task, validators, { hash: added.hash, size: 0, fetched: 0 })
  }
  const pieceSize = groupAligned(task.pieceSize ?? defaultPieceSize(head.size))
  const staged = await (await ctx.staging()).open(taskId, { ...validators, pieceSize })
  let kept = false
  try {
    if (staged.resumed > 0) {
      ctx.log('task %s resumes with %d of %d bytes staged', taskId, staged.resumed, head.size)
      task.emit({ type: 'origin:resume', detail: { taskId, staged: staged.resumed, total: head.size } })
    }
    let hasher = new PrefixHasher(staged.handle, head.size)
    const fetch = async (concurrency: number): Promise<number> => await fetchPieces({
      backend: task.backend,
      headers: task.headers,
      expect: validators,
      safeUrl: task.safeUrl,
      staged,
      hasher,
      concurrency,
      checkpointMs: ctx.checkpointMs,
      signal: task.signal,
      log: ctx.log,
      onPiece: (piece, bytes) => { task.emit({ type: 'origin:piece', detail: { taskId, piece, pieces: staged.pieces.length, bytes, total: head.size } }) }
    })
    let fetched: number
    try {
      fetched = await fetch(task.concurrency)
    } catch (err) {
      if (!(err instanceof OriginRangeIgnored) || staged.pieces.length === 1) throw err
      // The origin sends the whole file whatever range is asked: take it in one piece, from byte 0.
      ctx.log('%s ignores ranges: fetching it in one piece', task.safeUrl)
      await staged.restart(head.size)
      hasher = new PrefixHasher(staged.handle, head.size)
      fetched = await fetch(1)
    }
    const hashed = await hasher.finish()
    await staged.close()
    const added = await ctx.store.adoptFileUnchecked(staged.path, hashed, { tag: task.tag })
    await staged.forget()
    kept = true
    return await recorded(ctx, task, validators, { hash: added.hash, size: head.size, fetched })
  } catch (err) {
    if (err instanceof OriginChanged) {
      ctx.log('task %s: %s; its staged bytes are dropped', taskId, err.message)
      await staged.discard()
    }
    throw err
  } finally {
    if (!kept) await staged.close()
  }
}

async function recorded (ctx: FileImportContext, task: FileTask, validators: { size: number, etag?: string, lastModified?: string },
  blob: { hash: Uint8Array, size: number, fetched: number }): Promise<OriginImportResult> {
  await ctx.index.put(task.taskId, { ...validators, hash: blob.hash, format: 'raw', fetchedAt: Date.now() })
  return { taskId: task.taskId, hash: blob.hash, size: blob.size, format: 'raw', tag: task.tag, fetched: blob.fetched, source: 'origin' }
}
