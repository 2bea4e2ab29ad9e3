import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { asDiskError } from './disk-errors.js'

/**
 * `mkdir -p` that says why it failed. Node's recursive mkdir reports ENOENT for the path asked for
 * when a missing parent cannot be made (on a read-only or full file system); this one makes each
 * missing directory in turn, so the failure is the disk's, named (StoreReadOnly, StoreFull), on the
 * directory that could not be made.
 */
export async function makeDirectory (path: string): Promise<void> {
  await makeOnce(path, async () => {
    await makeDirectory(dirname(path))
    // Once, not again from the top: a file system that reports ENOENT with the parent there
    // (/proc) sent this round the loop until the process ran out of memory.
    await makeOnce(path, async err => { throw asDiskError(err, path, true) })
  })
}

/** mkdir of `path`; EEXIST is success; `missing(err)` on ENOENT below a parent; else the named error. */
async function makeOnce (path: string, missing: (err: unknown) => Promise<void>): Promise<void> {
  try {
    await mkdir(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOENT' || dirname(path) === path) throw asDiskError(err, path, true)
    await missing(err)
  }
}
