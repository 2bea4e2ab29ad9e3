import { open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import { fromHex, toHex } from '../../store/hash-text.js'
import type { TaskRecord } from './interface.js'

/** What a task id became: task id -> the blob, its size and the origin's validators then. */
export interface UrlIndex {
  get: (taskId: string) => TaskRecord | undefined
  put: (taskId: string, record: TaskRecord) => Promise<void>
  close: () => Promise<void>
}

/** In memory, for a node without a data directory. */
export class MemIndex implements UrlIndex {
  private readonly records = new Map<string, TaskRecord>()
  get (taskId: string): TaskRecord | undefined { return this.records.get(taskId) }
  async put (taskId: string, record: TaskRecord): Promise<void> { this.records.set(taskId, record) }
  async close (): Promise<void> {}
}

/**
 * In a file of JSON lines, one record per line, the last line of a task winning; each put is
 * appended and fdatasync'ed. Opening reads it all: a line that does not parse or check out (a
 * torn last line after a crash, a damaged byte) is dropped with a log line, and the file is then
 * written again with the good records only (a new file renamed over the old), as it is when it
 * holds over twice as many lines as tasks. A damaged index costs the dropped tasks a new fetch,
 * never the node's start.
 */
export class FileIndex implements UrlIndex {
  private constructor (private readonly path: string, private readonly records: Map<string, TaskRecord>, private readonly handle: FileHandle, private readonly log: Logger) {}

  static async open (path: string, log: Logger): Promise<FileIndex> {
    const records = new Map<string, TaskRecord>()
    let text = ''
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const lines = text.split('\n')
    const torn = lines.pop() !== '' // text ends with a newline unless the last append was cut short
    let dropped = torn ? 1 : 0
    for (const line of lines) {
      const parsed = parseLine(line)
      if (parsed === undefined) dropped++
      else records.set(parsed.taskId, parsed.record)
    }
    if (dropped > 0) log.error('the URL index %s had %d damaged line(s), dropped (%d tasks kept); rewriting it', path, dropped, records.size)
    if (dropped > 0 || lines.length > 2 * records.size + 100) await rewrite(path, records)
    return new FileIndex(path, records, await open(path, 'a'), log)
  }

  get (taskId: string): TaskRecord | undefined {
    return this.records.get(taskId)
  }

  async put (taskId: string, record: TaskRecord): Promise<void> {
    this.records.set(taskId, record)
    await this.handle.write(lineOf(taskId, record))
    await this.handle.datasync()
    this.log.trace('indexed %s -> %s in %s', taskId, toHex(record.hash), this.path)
  }

  async close (): Promise<void> {
    await this.handle.close()
  }
}

/** The records as lines, into a new file renamed over the old (never half a file). */
async function rewrite (path: string, records: Map<string, TaskRecord>): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`
  try {
    await writeFile(temp, [...records].map(([taskId, record]) => lineOf(taskId, record)).join(''), { flush: true })
    await rename(temp, path)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
}

function lineOf (taskId: string, record: TaskRecord): string {
  return JSON.stringify({
    task: taskId,
    hash: toHex(record.hash),
    format: record.format,
    size: record.size,
    ...(record.etag === undefined ? {} : { etag: record.etag }),
    ...(record.lastModified === undefined ? {} : { lastModified: record.lastModified }),
    fetchedAt: record.fetchedAt
  }) + '\n'
}

/** A line's task and record, or undefined when it is not one this index wrote. */
function parseLine (line: string): { taskId: string, record: TaskRecord } | undefined {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(line) as Record<string, unknown>
  } catch {
    return undefined
  }
  const { task, hash, format, size, etag, lastModified, fetchedAt } = value ?? {}
  const hex64 = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x)
  if (!hex64(task) || !hex64(hash) || (format !== 'raw' && format !== 'hashseq')) return undefined
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined
  if (typeof fetchedAt !== 'number' || !Number.isFinite(fetchedAt)) return undefined
  if ((etag !== undefined && typeof etag !== 'string') || (lastModified !== undefined && typeof lastModified !== 'string')) return undefined
  return {
    taskId: task,
    record: {
      hash: fromHex(hash),
      format,
      size,
      ...(etag === undefined ? {} : { etag: etag as string }),
      ...(lastModified === undefined ? {} : { lastModified: lastModified as string }),
      fetchedAt
    }
  }
}
