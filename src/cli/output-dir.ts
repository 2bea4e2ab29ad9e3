import type { Stats } from 'node:fs'
import { lstat, mkdir, open, realpath, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'

/**
 * A collection entry whose path below the output directory goes through a symbolic link (or a
 * link swapped in while writing): written, it could land anywhere. Nothing is written through it.
 */
export class UnsafePath extends Error {
  static override name = 'UnsafePath'
  constructor (readonly entryName: string, readonly path: string,
    message = `${JSON.stringify(entryName)} would be written through ${path}, a symbolic link; nothing is written through one below the output directory`) {
    super(message)
    this.name = 'UnsafePath'
  }
}

/** Where a command was to write cannot be written: said before anything was fetched. */
export class OutputNotWritable extends Error {
  static override name = 'OutputNotWritable'
  constructor (readonly path: string, readonly dir: string, readonly code: string,
    message = `cannot write ${path}: ${code === 'ENOTDIR' ? `${dir} is not a directory` : `${dir} is not writable (${code})`}; nothing was fetched: give another place with -o`) {
    super(message)
    this.name = 'OutputNotWritable'
  }
}

/**
 * OutputNotWritable unless a file can be made where `path` is to be written: in it if it is a
 * directory, else beside it, in the nearest directory above it that exists (a path to be made
 * is made there). Tried for real (a file created and removed at once), not by permission bits,
 * which say nothing of a read-only mount and everything passes for root.
 */
export async function writableOrThrow (path: string, cwd = process.cwd()): Promise<void> {
  const target = resolve(cwd, path)
  let dir = target
  let info = await statOf(dir)
  while (info === undefined && dirname(dir) !== dir) {
    dir = dirname(dir)
    info = await statOf(dir)
  }
  if (info !== undefined && !info.isDirectory()) {
    if (dir !== target) throw new OutputNotWritable(target, dir, 'ENOTDIR')
    dir = dirname(dir) // an existing file, to be replaced: its directory takes the new one
  }
  const probe = join(dir, `.verity-write-check-${process.pid}-${Math.random().toString(36).slice(2)}`)
  try {
    await (await open(probe, 'wx')).close()
  } catch (err) {
    throw new OutputNotWritable(target, dir, (err as NodeJS.ErrnoException).code ?? (err as Error).name)
  }
  await rm(probe, { force: true })
}

/** What is at a path, following symlinks; undefined if nothing is (a dangling link, a file on the way). */
async function statOf (path: string): Promise<Stats | undefined> {
  return await stat(path).catch(() => undefined)
}

/** What is at a path, without following a symlink there; undefined if nothing is. */
export async function lstatOf (path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * The directory a command writes files under. Its own path is the user's: symlinks in it are
 * followed, once (realpath). Below it, every directory on the way to a file is a real one, checked
 * (and made) one component at a time with lstat; a symlink there is refused with UnsafePath,
 * wherever it points (simpler to state and to check than "a link that stays inside"). The file
 * itself is left to `exportFile`, which renames a new file onto the name: a symlink planted at the
 * name is replaced, not followed. Not caught: a directory swapped for a symlink after `prepare`
 * checked it and before the file is created there (a race only a local user who can write in the
 * output directory can run; Node has no openat to close it).
 */
export class OutputDir {
  private made = false

  private constructor (readonly root: string) {}

  /** `dir` (relative to `cwd`), resolved through its symlinks if it exists; nothing is created yet. */
  static async at (dir: string, cwd = process.cwd()): Promise<OutputDir> {
    const path = resolve(cwd, dir)
    return new OutputDir(await lstatOf(path) === undefined ? path : await realpath(path))
  }

  /**
   * Where `name` (a checked `/`-separated relative name) goes, and what is there now (its lstat,
   * undefined if nothing), creating nothing: UnsafePath if a directory on the way is a symlink.
   */
  async check (name: string): Promise<{ path: string, existing: Stats | undefined }> {
    const parts = name.split('/')
    let dir = this.root
    for (let i = 0; i < parts.length - 1; i++) {
      dir = join(dir, parts[i] as string)
      const info = await lstatOf(dir)
      if (info === undefined) return { path: join(this.root, ...parts), existing: undefined } // nothing below it either
      directoryOrThrow(name, dir, info)
    }
    const path = join(this.root, ...parts)
    return { path, existing: await lstatOf(path) }
  }

  /** Makes the directories on the way to `name` (the root with its parents first), each checked; returns its path. */
  async prepare (name: string): Promise<string> {
    if (!this.made) {
      await mkdir(this.root, { recursive: true })
      this.made = true
    }
    let dir = this.root
    const parts = name.split('/')
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part)
      let info = await lstatOf(dir)
      if (info === undefined) {
        await mkdir(dir).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err }) // EEXIST: made meanwhile, checked next
        info = await lstat(dir)
      }
      directoryOrThrow(name, dir, info)
    }
    return join(dir, parts[parts.length - 1] as string)
  }
}

function directoryOrThrow (name: string, dir: string, info: Stats): void {
  if (info.isSymbolicLink()) throw new UnsafePath(name, dir)
  if (!info.isDirectory()) throw new Error(`${dir} is not a directory, where ${JSON.stringify(name)} needs one`)
}
