import type { Logger } from '@libp2p/interface'
import { HashSeqReader } from '../../store/hash-seq.js'
import type { BlobStore } from '../../store/interface.js'
import { GuardedBackend } from './guard.js'
import { importDirectory } from './import-directory.js'
import { importFile } from './import-file.js'
import type { FileHead, HeadResult, OriginImportOptions, OriginImportResult, OriginImportProgress, TaskRecord, Validators } from './interface.js'
import type { BackendRegistry } from './registry.js'
import { safeUrlOf } from './safe-url.js'
import type { StagingArea } from './staging.js'
import type { UrlIndex } from './url-index.js'

/** What running a task needs of the origins service. */
export interface TaskContext {
  store: BlobStore
  index: UrlIndex
  registry: BackendRegistry
  log: Logger
  checkpointMs: number
  concurrency: number
  fileConcurrency: number
  staging: () => Promise<StagingArea>
  /** The service's own import, for the files of a directory (each its own shared task). */
  importFile: (url: URL, options: OriginImportOptions) => Promise<OriginImportResult>
}

/**
 * One task, run once however many callers share it: a known task whose blob is still here is
 * answered from the URL index (with `revalidate`, after a conditional head: unchanged keeps the
 * blob); otherwise the head decides, a file or a directory.
 */
export async function runTask (ctx: TaskContext, url: URL, taskId: string, options: OriginImportOptions, signal: AbortSignal, emit: (event: OriginImportProgress) => void): Promise<OriginImportResult> {
  const filter = options.filter ?? []
  const safeUrl = safeUrlOf(url, filter)
  const backend = new GuardedBackend(ctx.registry.for(url), url, safeUrl, filter, options.addressPolicy)
  const tag = `origin:${taskId}`
  const headers = options.headers === undefined ? {} : { headers: options.headers }
  const record = ctx.index.get(taskId)
  let head: HeadResult
  if (record !== undefined && await holds(ctx.store, record)) {
    if (options.revalidate !== true) {
      ctx.log('task %s is known: %s', taskId, safeUrl)
      await keepTagged(ctx.store, tag, record)
      return resultOf(taskId, record, tag, 'known')
    }
    head = await backend.head({ ...headers, signal, ...(record.format === 'raw' ? { ifUnchanged: validatorsOf(record) } : {}) })
    if ('notModified' in head || (record.format === 'raw' && 'size' in head && sameVersion(record, head))) {
      ctx.log('task %s is unchanged at the origin: %s', taskId, safeUrl)
      const fresh = { ...record, fetchedAt: Date.now() }
      await ctx.index.put(taskId, fresh)
      await keepTagged(ctx.store, tag, fresh)
      return resultOf(taskId, fresh, tag, 'unchanged')
    }
  } else {
    head = await backend.head({ ...headers, signal })
  }
  if ('entries' in head) {
    ctx.log('task %s: %s is a directory of %d files', taskId, safeUrl, head.entries.length)
    emit({ type: 'origin:head', detail: { taskId, url: safeUrl, total: head.entries.reduce((sum, entry) => sum + entry.size, 0), files: head.entries.length } })
    const { filter: _filter, onProgress: _onProgress, signal: _signal, ...shared } = options
    return await importDirectory(ctx, {
      taskId,
      url,
      safeUrl,
      entries: head.entries,
      fileConcurrency: ctx.fileConcurrency,
      tag,
      signal,
      emit,
      importFile: async (child, childSignal) => await ctx.importFile(child, {
        ...shared,
        filter,
        signal: childSignal,
        // A file's pieces, as the directory's progress.
        onProgress: event => { if (event.type === 'origin:piece' || event.type === 'origin:resume') emit(event) }
      })
    })
  }
  const file = head as FileHead
  ctx.log('task %s: %s is a file of %d bytes', taskId, safeUrl, file.size)
  emit({ type: 'origin:head', detail: { taskId, url: safeUrl, total: file.size } })
  return await importFile(ctx, {
    taskId,
    backend,
    safeUrl,
    head: file,
    headers: options.headers,
    pieceSize: options.pieceSize,
    concurrency: options.concurrency ?? ctx.concurrency,
    tag,
    signal,
    emit
  })
}

/** Whether the store still holds what the record names, whole (a collection: its files too). */
async function holds (store: BlobStore, record: TaskRecord): Promise<boolean> {
  if ((await store.status(record.hash)).status !== 'complete') return false
  if (record.format === 'raw') return true
  try {
    for await (const child of await HashSeqReader.open(store, record.hash)) {
      if ((await store.status(child)).status !== 'complete') return false
    }
    return true
  } catch {
    return false
  }
}

/** The task's tag names its blob (set again if someone removed or moved it). */
async function keepTagged (store: BlobStore, tag: string, record: TaskRecord): Promise<void> {
  const current = await store.tags.get(tag)
  if (current === undefined || current.format !== record.format || Buffer.compare(current.hash, record.hash) !== 0) {
    await store.tags.set(tag, { hash: record.hash, format: record.format })
  }
}

function validatorsOf (record: TaskRecord): Validators {
  return { size: record.size, ...(record.etag === undefined ? {} : { etag: record.etag }), ...(record.lastModified === undefined ? {} : { lastModified: record.lastModified }) }
}

/** The same version: same size, and the same ETag (or, without one, the same Last-Modified). */
function sameVersion (record: TaskRecord, head: FileHead): boolean {
  if (record.size !== head.size) return false
  if (record.etag !== undefined && head.etag !== undefined) return record.etag === head.etag
  return record.lastModified !== undefined && record.lastModified === head.lastModified
}

function resultOf (taskId: string, record: TaskRecord, tag: string, source: 'known' | 'unchanged'): OriginImportResult {
  return { taskId, hash: record.hash, size: record.size, format: record.format, tag, fetched: 0, source }
}
