import { safeName, uniqueNames } from '../../store/collection.js'
import type { BlobStore } from '../../store/interface.js'
import { OriginBadResponse } from './errors.js'
import type { DirectoryEntry, OriginImportProgress, OriginImportResult } from './interface.js'
import type { UrlIndex } from './url-index.js'

export interface DirectoryTask {
  taskId: string
  url: URL
  safeUrl: string
  entries: DirectoryEntry[]
  /** Files imported at once. */
  fileConcurrency: number
  /** The store tag to set on the collection: `origin:<taskId>`. */
  tag: string
  signal: AbortSignal
  emit: (event: OriginImportProgress) => void
  /** Import one file of the directory (its own task, shared with anyone importing it too). */
  importFile: (url: URL, signal: AbortSignal) => Promise<OriginImportResult>
}

/**
 * A directory becomes a collection: each file imported as its own task (`fileConcurrency` at a
 * time; the first failure stops the rest), then the collection added and tagged, named and
 * ordered as `verity add <directory>` does (the directory's own name, then the path below it;
 * a host's root has no name of its own), so a directory added from a path and from its file: URL
 * is one collection.
 */
export async function importDirectory (ctx: { store: BlobStore, index: UrlIndex }, task: DirectoryTask): Promise<OriginImportResult> {
  const prefix = lastSegment(task.url)
  const entries = [...task.entries].sort(byPath)
  const names = entries.map(entry => checkedName(task.safeUrl, prefix === undefined ? entry.path : `${prefix}/${entry.path}`))
  try {
    uniqueNames(names)
  } catch (err) {
    throw new OriginBadResponse(task.safeUrl, `the directory lists one name twice (${(err as Error).message})`)
  }
  const base = directoryBase(task.url, task.safeUrl)
  const stop = new AbortController()
  const signal = AbortSignal.any([task.signal, stop.signal])
  const results: OriginImportResult[] = []
  let failure: { error: unknown } | undefined
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < entries.length && failure === undefined; i = next++) {
      const entry = entries[i] as DirectoryEntry
      const result = await task.importFile(childUrl(base, entry.path, task.safeUrl), signal)
      results[i] = result
      task.emit({ type: 'origin:file', detail: { taskId: task.taskId, path: entry.path, hash: result.hash, size: result.size } })
    }
  }
  await Promise.all(Array.from({ length: Math.min(task.fileConcurrency, entries.length) }, async () => {
    await worker().catch((err: unknown) => {
      if (failure !== undefined) return
      failure = { error: err }
      stop.abort(err)
    })
  }))
  if (failure !== undefined) throw failure.error
  const collection = await ctx.store.addCollection(names.map((name, i) => ({ name, hash: (results[i] as OriginImportResult).hash })), { tag: task.tag })
  const size = results.reduce((sum, result) => sum + result.size, 0)
  await ctx.index.put(task.taskId, { hash: collection.hash, format: 'hashseq', size, fetchedAt: Date.now() })
  const fetched = results.reduce((sum, result) => sum + result.fetched, 0)
  return { taskId: task.taskId, hash: collection.hash, size, format: 'hashseq', tag: task.tag, fetched, source: 'origin' }
}

/**
 * Directory order, as a walk that sorts each folder's names and goes into a folder where its name
 * sorts (`verity add` and the file: backend): path segments compared one by one, so `a/b` comes
 * before `a.txt`. The order is part of the collection's hash.
 */
function byPath (a: DirectoryEntry, b: DirectoryEntry): number {
  const left = a.path.split('/')
  const right = b.path.split('/')
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i] as string
    const y = right[i] as string
    if (x !== y) return x < y ? -1 : 1
  }
  return left.length - right.length
}

/** The directory's own name: the last segment of its path, decoded; none for the root. */
function lastSegment (url: URL): string | undefined {
  const segment = url.pathname.split('/').filter(part => part !== '').pop()
  if (segment === undefined) return undefined
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

function checkedName (safeUrl: string, name: string): string {
  try {
    return safeName(name)
  } catch (err) {
    throw new OriginBadResponse(safeUrl, `the directory lists a name that is not a plain relative path (${(err as Error).message})`)
  }
}

/** The directory's URL ending in `/`, without query or fragment: what its files' paths are relative to. */
function directoryBase (url: URL, safeUrl: string): URL {
  const base = new URL(url.href)
  base.search = ''
  base.hash = ''
  if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`
  if (!base.pathname.startsWith('/')) throw new OriginBadResponse(safeUrl, 'a directory URL needs a path that starts with / (scheme://host/path)')
  return base
}

function childUrl (base: URL, path: string, safeUrl: string): URL {
  try {
    return new URL(path.split('/').map(encodeURIComponent).join('/'), base)
  } catch {
    throw new OriginBadResponse(safeUrl, `the directory lists ${JSON.stringify(path)}, which makes no URL`)
  }
}
