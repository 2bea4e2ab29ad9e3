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
  try {
    await mkdir(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOENT' || dirname(path) === path) throw asDiskError(err, path, true)
    await makeDirectory(dirname(path))
    await makeDirectory(path)
  }
}
