import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, openSync, rmdirSync, statfsSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A tmpfs mounted for a test: a real small file system to fill, or to make read-only. */
export interface Tmpfs {
  dir: string
  /** Free bytes, as an unprivileged writer sees them. */
  free: () => number
  /** Fill it with a file of its own (another program filling the disk) to the last byte. */
  fill: (name?: string) => void
  /** `mount -o remount,ro` (or rw). */
  readOnly: (on: boolean) => void
  /** Unmount (lazily if a process still uses it) and remove the mount point; safe to call twice. */
  unmount: () => void
}

/**
 * Mount a tmpfs of `size` (`10m`) under os.tmpdir(), or say why this machine cannot (mounting
 * needs root, and a kernel and container that allow it): the caller skips with that reason.
 */
export function mountTmpfs (size: string): Tmpfs | { cannot: string } {
  if (process.getuid?.() !== 0) return { cannot: 'mounting a tmpfs needs root' }
  const dir = join(tmpdir(), `verity-tmpfs-${process.pid}-${randomBytes(4).toString('hex')}`)
  mkdirSync(dir)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (err) {
    rmdirSync(dir)
    return { cannot: `mount -t tmpfs failed here: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}` }
  }
  let mounted = true
  return {
    dir,
    free: () => {
      const fs = statfsSync(dir)
      return fs.bavail * fs.bsize
    },
    fill: (name = 'filler') => {
      const fd = openSync(join(dir, name), 'a')
      const block = Buffer.alloc(1 << 20, 0xaa)
      try {
        // tmpfs fills page by page: a write stops short at the last free page, the next one fails.
        while (true) writeSync(fd, block)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      } finally {
        closeSync(fd)
      }
    },
    readOnly: on => { execFileSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir], { stdio: 'pipe' }) },
    unmount: () => {
      if (!mounted) return
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' })
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' }) // still in use by a process being killed
      }
      mounted = false
      rmdirSync(dir)
    }
  }
}

/**
 * A tmpfs for a suite's tests with the unhandled rejections seen meanwhile: mounted in a `before`
 * or `beforeEach` (`mount(this)` skips the test, saying why, where this machine cannot mount),
 * unmounted in the matching `after` (`release()`). `unhandled` is what rejected unhandled since.
 */
export class TmpfsFixture {
  disk: Tmpfs | undefined
  unhandled: unknown[] = []
  private readonly onUnhandled = (reason: unknown): void => { this.unhandled.push(reason) }

  constructor (private readonly size: string) {}

  mount (context: Mocha.Context): Tmpfs {
    const mounted = mountTmpfs(this.size)
    if ('cannot' in mounted) {
      process.stderr.write(`      skipped: ${mounted.cannot}\n`)
      context.skip()
    }
    this.disk = mounted as Tmpfs
    this.unhandled = []
    process.on('unhandledRejection', this.onUnhandled)
    return this.disk
  }

  release (): void {
    process.off('unhandledRejection', this.onUnhandled)
    this.disk?.unmount()
  }
}
