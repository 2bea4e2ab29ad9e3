import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A directory of this process's own under the temp directory (`os.tmpdir()`: $TMPDIR, else
 * /tmp), for a store nobody else is to use (`verity send` without a data directory). It goes when
 * `remove` is called, and, should the process end before that (the grace after a signal ran out,
 * an exception nobody caught), on the way out: only SIGKILL or a crash of the machine leaves it.
 */
export class PrivateDir {
  private readonly onExit = (): void => { rmSync(this.path, { recursive: true, force: true }) }

  private constructor (readonly path: string) {
    process.once('exit', this.onExit)
  }

  /** A new, empty directory, mode 0700 (mkdtemp's), named `<prefix>XXXXXX`. */
  static async make (prefix: string): Promise<PrivateDir> {
    return new PrivateDir(await mkdtemp(join(tmpdir(), prefix)))
  }

  /** Delete it and all it holds (once whatever keeps files open in it has closed them). */
  async remove (): Promise<void> {
    await rm(this.path, { recursive: true, force: true })
    process.off('exit', this.onExit)
  }
}
