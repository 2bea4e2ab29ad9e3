import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { safeName, uniqueNames } from '../../store/collection.js'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore, HashAndFormat } from '../../store/interface.js'
import { writeDrained } from '../net/writable.js'
import { Output, UsageError } from './common.js'
import { lstatOf, OutputDir } from './output-dir.js'

/** Whether anything is at `path`, a symlink included (dangling or not). */
export async function exists (path: string): Promise<boolean> {
  return await lstatOf(path) !== undefined
}

export async function isDirectory (path: string): Promise<boolean> {
  return await stat(path).then(s => s.isDirectory(), () => false)
}

/** What writeOut writes: the files (checked names), and whether the only one goes to the output path itself. */
export interface Layout { files: Array<{ name: string, hash: Uint8Array }>, single: boolean }

/**
 * The files of a blob (named by its hash) or a collection (by their names, each checked: UnsafeName,
 * DuplicateName). One file goes to the output itself unless that is a directory (or stdout);
 * several go under it (or here) by their names.
 */
export async function layoutOf (blobs: BlobStore, what: HashAndFormat, output: string | undefined): Promise<Layout> {
  const files = what.format === 'hashseq'
    ? (await blobs.readCollection(what.hash)).map(e => ({ name: safeName(e.name), hash: e.hash }))
    : [{ name: toHex(what.hash), hash: what.hash }]
  uniqueNames(files.map(f => f.name))
  return { files, single: files.length === 1 && output !== undefined && output !== '-' && !await isDirectory(output) }
}

/**
 * Write a blob to a file or (`-`) stdout, or a collection's files under a directory, from the
 * store (verified on the way out). Before anything is written, every name is checked (a plain
 * relative path, no two in one place: DuplicateName) and so is every path (no symlink on the way:
 * UnsafePath; an existing file is not replaced without `overwrite`).
 */
export async function writeOut (blobs: BlobStore, what: HashAndFormat, output: string | undefined, overwrite: boolean, out: Output, signal: AbortSignal): Promise<void> {
  const { files, single } = await layoutOf(blobs, what, output)
  if (output === '-') {
    if (files.length !== 1) throw new UsageError(`stdout (-) takes a single blob; this collection has ${files.length} files: name a directory for them instead`)
    await toStdout(blobs.reader((files[0] as { hash: Uint8Array }).hash, { signal }), out.io.stdout)
    return
  }
  const dir = await OutputDir.at(single && output !== undefined ? dirname(resolve(output)) : output ?? '.')
  const names = single && output !== undefined ? [basename(resolve(output))] : files.map(f => f.name)
  const paths: string[] = []
  for (const name of names) {
    const { path, existing } = await dir.check(name)
    if (existing?.isDirectory() === true) throw new Error(`${path} is a directory; a file cannot replace it`)
    if (existing !== undefined && !overwrite) throw new Error(`${path} exists; pass --overwrite to replace it`)
    paths.push(path)
  }
  for (const [i, file] of files.entries()) {
    // Checked again as the directories are made: a symlink put there since is caught here.
    const path = await dir.prepare(names[i] as string)
    await blobs.exportFile(file.hash, path, { signal }).catch((err: NodeJS.ErrnoException) => {
      // A write that failed (ENOSPC) names no file: this is the one.
      if (err.code !== undefined && err.path === undefined) err.path = path
      throw err
    })
    if (out.verbose) out.say(`wrote ${path}`)
  }
  out.event({ type: 'written', files: paths })
  // With -v each file was said as it was written: one more line only for several.
  if (!out.verbose || files.length > 1) out.say(`wrote ${files.length === 1 ? paths[0] as string : `${files.length} files under ${dir.root}`}`)
  out.result(files.length === 1 ? paths[0] as string : dir.root)
}

/**
 * Bytes to stdout, waiting for it to drain (a slow pipe holds the reader back, not memory). A
 * stdout that closes (a control client gone) ends it with WritableClosed, and the reader closes.
 */
export async function toStdout (bytes: AsyncIterable<Uint8Array>, stdout: NodeJS.WritableStream = process.stdout): Promise<void> {
  for await (const piece of bytes) await writeDrained(stdout, piece)
}

/** The files under `path` (itself, if a file), each with its name in the collection. */
export async function filesOf (path: string): Promise<Array<{ path: string, name: string }>> {
  const root = resolve(path)
  const info = await stat(root)
  if (info.isFile()) return [{ path: root, name: basename(root) }]
  if (!info.isDirectory()) throw new Error(`${path} is neither a file nor a directory`)
  const base = resolve(root, '..')
  const found: Array<{ path: string, name: string }> = []
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true })
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    for (const entry of entries) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile()) found.push({ path: full, name: relative(base, full).split(sep).join('/') })
    }
  }
  await walk(root)
  return found
}

/** A file's name from its URL: the last path segment, decoded, if it is a safe name; else none (the hash names it). */
export function nameOf (url: string): string | undefined {
  try {
    const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '')
    return last === '' ? undefined : safeName(last)
  } catch {
    return undefined
  }
}
