import type { BigIntStats } from 'node:fs'
import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { OriginChanged, OriginDenied, OriginNotFound, OriginUnavailable } from '../errors.js'
import type { DirectoryEntry, GetOptions, HeadOptions, HeadResult, OriginBackend, Validators } from '../interface.js'
import { safeUrlOf } from '../safe-url.js'

/** Bytes read per step; two buffers take turns (a chunk is the caller's until it asks for the next). */
const READ_SIZE = 1 << 20

/**
 * `file:` URLs: a regular file, or a directory and every regular file below it (symlinks and
 * other kinds are skipped, as `verity add` does). The ETag names the file's inode, size and
 * modification time in nanoseconds, so an edit between pieces is OriginChanged.
 */
export function fileBackend (): OriginBackend {
  return {
    name: 'file',
    schemes: ['file'],
    head: async (url, options) => await head(url, options),
    get: (url, options) => read(url, options)
  }
}

async function head (url: URL, options: HeadOptions): Promise<HeadResult> {
  options.signal?.throwIfAborted()
  const shown = options.safeUrl ?? safeUrlOf(url)
  const path = pathOf(url, shown)
  const info = await failing(shown, async () => await stat(path, { bigint: true }))
  if (info.isDirectory()) return { entries: await listFiles(path, shown, options.signal) }
  if (!info.isFile()) throw new OriginNotFound(shown, 'not a regular file or a directory')
  const validators = validatorsOf(info)
  const unchanged = options.ifUnchanged
  if (unchanged !== undefined && unchanged.etag === validators.etag && unchanged.size === validators.size) return { notModified: true }
  return { size: Number(info.size), etag: validators.etag, lastModified: validators.lastModified }
}

async function * read (url: URL, options: GetOptions): AsyncGenerator<Uint8Array> {
  const shown = options.safeUrl ?? safeUrlOf(url)
  const { offset, length } = options.range
  const handle = await failing(shown, async () => await open(pathOf(url, shown), 'r'))
  try {
    const info = await failing(shown, async () => await handle.stat({ bigint: true }))
    checkUnchanged(shown, validatorsOf(info), options.expect)
    if (offset + length > Number(info.size)) throw new OriginChanged(shown, `asked for bytes ${offset}..${offset + length} of a file of ${info.size}`)
    const buffers = [new Uint8Array(Math.min(READ_SIZE, Math.max(1, length))), new Uint8Array(Math.min(READ_SIZE, Math.max(1, length)))]
    for (let done = 0, turn = 0; done < length; turn++) {
      options.signal?.throwIfAborted()
      const buffer = buffers[turn % 2] as Uint8Array
      const want = Math.min(buffer.length, length - done)
      const { bytesRead } = await failing(shown, async () => await handle.read(buffer, 0, want, offset + done))
      if (bytesRead === 0) throw new OriginChanged(shown, `the file ended at ${offset + done} bytes, before the ${offset + length} asked for`)
      done += bytesRead
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}

/** Every regular file below `root`, by path relative to it with `/`, in name order. */
async function listFiles (root: string, shown: string, signal: AbortSignal | undefined): Promise<DirectoryEntry[]> {
  const found: DirectoryEntry[] = []
  const walk = async (dir: string, prefix: string): Promise<void> => {
    signal?.throwIfAborted()
    const entries = await failing(shown, async () => await readdir(dir, { withFileTypes: true }))
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    for (const entry of entries) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`)
      else if (entry.isFile()) found.push({ path: `${prefix}${entry.name}`, size: Number((await failing(shown, async () => await stat(full))).size) })
    }
  }
  await walk(root, '')
  return found
}

function pathOf (url: URL, shown: string): string {
  if (url.host !== '' && url.host !== 'localhost') throw new OriginNotFound(shown, `file: URLs name files on this machine, not on ${url.host}`)
  try {
    return fileURLToPath(url)
  } catch (err) {
    throw new OriginNotFound(shown, `not a file path (${(err as Error).message})`)
  }
}

function validatorsOf (info: BigIntStats): Validators & { etag: string, lastModified: string } {
  return {
    size: Number(info.size),
    etag: `"${info.ino.toString(16)}-${info.size.toString(16)}-${info.mtimeNs.toString(16)}"`,
    lastModified: new Date(Number(info.mtimeMs)).toUTCString()
  }
}

/** OriginChanged when the file is not the version the download began with. */
function checkUnchanged (shown: string, now: Validators, expect: Validators | undefined): void {
  if (expect === undefined) return
  if (expect.size !== undefined && expect.size !== now.size) throw new OriginChanged(shown, `the file is ${now.size} bytes now, ${expect.size} when the download began`)
  if (expect.etag !== undefined && expect.etag !== now.etag) throw new OriginChanged(shown, 'the file was modified during the download')
}

/** A file system call whose failure becomes the named origin error. */
async function failing<T> (shown: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new OriginNotFound(shown, 'no such file', { cause: err })
    if (code === 'EACCES' || code === 'EPERM') throw new OriginDenied(shown, 'permission denied', { cause: err })
    if (code !== undefined) throw new OriginUnavailable(shown, `${code} reading the file`, { cause: err })
    throw err
  }
}
