import { StoreFull, StoreIOError, StoreReadOnly } from './errors.js'

/** The named errors a failing disk raises in a store. */
export type DiskError = StoreFull | StoreReadOnly | StoreIOError

/** No room: StoreFull. */
const FULL = new Set(['ENOSPC', 'EDQUOT'])
/** The file system refuses writes: StoreReadOnly (EACCES and EPERM too, when writing). */
const READ_ONLY = new Set(['EROFS'])
const DENIED = new Set(['EACCES', 'EPERM'])
/** The device or file system failed: StoreIOError. Other codes (ENOENT, EEXIST, EMFILE...) are not the disk's doing. */
const FAILED = new Set(['EIO', 'ENXIO', 'ENODEV', 'ESTALE', 'EUCLEAN', 'EFBIG'])

/**
 * LevelDB reports a failed call only as text, "IO error: <path>: <strerror(errno)>" (env_posix.cc),
 * so its errno is read back from glibc's wording.
 */
const STRERROR: Record<string, string> = {
  'No space left on device': 'ENOSPC',
  'Disk quota exceeded': 'EDQUOT',
  'Read-only file system': 'EROFS',
  'Permission denied': 'EACCES',
  'Operation not permitted': 'EPERM',
  'Input/output error': 'EIO',
  'No such device or address': 'ENXIO',
  'No such device': 'ENODEV',
  'Stale file handle': 'ESTALE',
  'Structure needs cleaning': 'EUCLEAN',
  'File too large': 'EFBIG'
}

/** Code classic-level gives every other LevelDB IO error; it is a failure of the store's files all the same. */
const LEVEL_IO_ERROR = 'LEVEL_IO_ERROR'

/**
 * The errno code (and, when the error names one, the path) of a failed file system call: Node's
 * `code` and `path`, or LevelDB's message. classic-level wraps a failed open in
 * LEVEL_DATABASE_NOT_OPEN, whose `cause` holds LevelDB's error.
 */
export function errnoOf (err: unknown): { code: string, path?: string } | undefined {
  if (err === null || typeof err !== 'object') return undefined
  const { code, path, message, cause } = err as { code?: unknown, path?: unknown, message?: unknown, cause?: unknown }
  if (code === LEVEL_IO_ERROR && typeof message === 'string') {
    const match = /^IO error: (.*): ([^:]+)$/.exec(message)
    if (match === null) return { code: LEVEL_IO_ERROR }
    return { code: STRERROR[match[2] as string] ?? LEVEL_IO_ERROR, path: match[1] as string }
  }
  if (code === 'LEVEL_DATABASE_NOT_OPEN') return errnoOf(cause)
  if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return undefined
  return typeof path === 'string' ? { code, path } : { code }
}

/**
 * The named store error for a failed file system call on `path` (or on the file the error names),
 * or undefined when the failure is not the disk's (ENOENT, EEXIST, a TypeError...). `writing`:
 * the call writes, so EACCES and EPERM mean the store cannot be written. A DiskError is returned
 * as it is, so mapping twice is harmless.
 */
export function diskError (err: unknown, path: string, writing: boolean): DiskError | undefined {
  if (isDiskError(err)) return err
  const errno = errnoOf(err)
  if (errno === undefined) return undefined
  const failure = { path: errno.path ?? path, code: errno.code, cause: err }
  if (FULL.has(errno.code)) return new StoreFull(failure)
  if (READ_ONLY.has(errno.code) || (writing && DENIED.has(errno.code))) return new StoreReadOnly(failure)
  if (FAILED.has(errno.code) || errno.code === LEVEL_IO_ERROR) return new StoreIOError(failure)
  return undefined
}

/** `err` as a named store error when the disk caused it, else `err` unchanged. */
export function asDiskError (err: unknown, path: string, writing: boolean): unknown {
  return diskError(err, path, writing) ?? err
}

/** Run one file system call on `path`; its failure comes out as a named store error when the disk caused it. */
export async function onDisk<T> (path: string, writing: boolean, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw asDiskError(err, path, writing)
  }
}

export function isDiskError (err: unknown): err is DiskError {
  return err instanceof StoreFull || err instanceof StoreReadOnly || err instanceof StoreIOError
}
