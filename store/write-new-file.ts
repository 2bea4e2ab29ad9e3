import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** A new file only: fails if the name exists, a symlink included (never followed). */
const EXCLUSIVE_NEW_FILE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW

/**
 * Write `bytes` to `path` without ever writing into a file that exists: into a new file beside it
 * (created exclusively, never through a symlink, under a random name), synced, then renamed onto
 * `path` (a file or symlink there is replaced, not written through). On any failure the new file
 * is removed; its handle is closed on every path.
 */
export async function writeNewFile (path: string, bytes: AsyncIterable<Uint8Array>): Promise<void> {
  const temp = join(dirname(path), `.verity-export-${randomBytes(12).toString('hex')}.tmp`)
  const file = await open(temp, EXCLUSIVE_NEW_FILE, 0o666)
  try {
    try {
      let at = 0
      for await (const piece of bytes) {
        await file.write(piece, 0, piece.length, at)
        at += piece.length
      }
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, path)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
}
