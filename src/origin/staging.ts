import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '@libp2p/interface'
import { onDisk } from '../../store/disk-errors.js'
import type { ByteRange } from './interface.js'
import { piecesOf } from './pieces.js'

/** What an import stages: one version of one file (size and validators) cut into pieces. */
export interface StagingPlan {
  size: number
  etag?: string
  lastModified?: string
  pieceSize: number
}

interface SavedState extends StagingPlan {
  v: 1
  /** Bytes written from the start of each piece, all durable when this was saved. */
  done: number[]
}

/**
 * Where imports put a file's bytes before the store takes it: per task `<task id>.part` (the
 * file, full size, sparse until written) and `<task id>.json` (the plan and the bytes written of
 * each piece). Each piece is fetched from its start in order, so one count per piece says what
 * it holds. The state is saved only after the data it counts was fdatasync'ed, so after a crash
 * it never claims bytes the file lacks. Without `persist` (a node with no data directory) no
 * state is kept: the file is scratch space.
 */
export class StagingArea {
  constructor (readonly dir: string, private readonly persist: boolean, private readonly log: Logger) {}

  /**
   * The staged file of `taskId` for `plan`: what an earlier import of this very version left (its
   * size and ETag, or without an ETag its Last-Modified, the same; its piece size kept), else a
   * new empty one. A version with no validator is never resumed: nothing says the bytes are its.
   */
  async open (taskId: string, plan: StagingPlan): Promise<StagedFile> {
    await mkdir(this.dir, { recursive: true })
    const dataPath = join(this.dir, `${taskId}.part`)
    const statePath = join(this.dir, `${taskId}.json`)
    const saved = this.persist ? await readState(statePath) : undefined
    if (saved !== undefined && sameVersion(saved, plan) && await sizeOf(dataPath) === plan.size) {
      const handle = await onDisk(dataPath, true, async () => await open(dataPath, 'r+'))
      return new StagedFile(dataPath, statePath, handle, { ...plan, pieceSize: saved.pieceSize }, saved.done, this.persist)
    }
    if (saved !== undefined) this.log('staged bytes of task %s are of another version of the file (or damaged): starting over', taskId)
    const handle = await onDisk(dataPath, true, async () => await open(dataPath, 'w+'))
    await onDisk(dataPath, true, async () => { await handle.truncate(plan.size) })
    return new StagedFile(dataPath, statePath, handle, plan, undefined, this.persist)
  }
}

/** One task's staged file: positional writes, the bytes done per piece, checkpoints of both. */
export class StagedFile {
  pieces: ByteRange[]
  done: number[]
  /** Bytes already staged when it was opened (a resumed import). */
  readonly resumed: number
  private saved: string | undefined
  private saving: Promise<void> = Promise.resolve()
  private closed = false

  constructor (readonly path: string, private readonly statePath: string, readonly handle: FileHandle, private plan: StagingPlan,
    done: number[] | undefined, private readonly persist: boolean) {
    this.pieces = piecesOf(plan.size, plan.pieceSize)
    this.done = done ?? this.pieces.map(() => 0)
    this.resumed = this.done.reduce((sum, bytes) => sum + bytes, 0)
  }

  get size (): number {
    return this.plan.size
  }

  async writeAt (offset: number, bytes: Uint8Array): Promise<void> {
    await onDisk(this.path, true, async () => {
      for (let written = 0; written < bytes.length;) {
        const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, offset + written)
        written += bytesWritten
      }
    })
  }

  /**
   * Save how far each piece got: a snapshot of the counts, then fdatasync, then the state file
   * (a new file renamed over the old). Checkpoints run one after another; one with nothing new
   * writes nothing.
   */
  async checkpoint (): Promise<void> {
    const next = this.saving.then(async () => { await this.save() })
    this.saving = next.catch(() => {}) // the caller of this checkpoint gets its error; the next one tries again
    await next
  }

  /** Start over in pieces of `pieceSize` (an origin that ignores ranges is fetched in one piece). */
  async restart (pieceSize: number): Promise<void> {
    await this.saving
    this.plan = { ...this.plan, pieceSize }
    this.pieces = piecesOf(this.plan.size, pieceSize)
    this.done = this.pieces.map(() => 0)
    this.saved = undefined
    if (this.persist) await rm(this.statePath, { force: true })
  }

  /** Close the file (before the store takes it); the state stays until `forget`. */
  async close (): Promise<void> {
    await this.saving
    if (this.closed) return
    this.closed = true
    await this.handle.close()
  }

  /** The file went into the store: its state goes too. */
  async forget (): Promise<void> {
    await this.close()
    await rm(this.statePath, { force: true })
  }

  /** Of no use any more (the file changed at the origin): file and state go. */
  async discard (): Promise<void> {
    await this.close()
    await rm(this.path, { force: true })
    await rm(this.statePath, { force: true })
  }

  private async save (): Promise<void> {
    if (!this.persist || this.closed) return
    const state: SavedState = { v: 1, ...this.plan, done: [...this.done] }
    const text = JSON.stringify(state)
    if (text === this.saved) return
    await onDisk(this.path, true, async () => { await this.handle.datasync() })
    const temp = `${this.statePath}.tmp`
    await onDisk(temp, true, async () => { await writeFile(temp, text) })
    await onDisk(this.statePath, true, async () => { await rename(temp, this.statePath) })
    this.saved = text
  }
}

function sameVersion (saved: StagingPlan, plan: StagingPlan): boolean {
  if (saved.size !== plan.size) return false
  if (plan.etag !== undefined) return saved.etag === plan.etag
  return plan.lastModified !== undefined && saved.lastModified === plan.lastModified
}

async function sizeOf (path: string): Promise<number | undefined> {
  return await stat(path).then(info => info.size, () => undefined)
}

/** The saved state, or undefined when there is none or it does not check out (then it is started over). */
async function readState (path: string): Promise<SavedState | undefined> {
  let value: Partial<SavedState>
  try {
    value = JSON.parse(await readFile(path, 'utf8')) as Partial<SavedState>
  } catch {
    return undefined
  }
  const count = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
  if (value?.v !== 1 || !count(value.size) || !count(value.pieceSize) || value.pieceSize === 0 || !Array.isArray(value.done)) return undefined
  const pieces = piecesOf(value.size, value.pieceSize)
  if (value.done.length !== pieces.length || !value.done.every((bytes, i) => count(bytes) && bytes <= (pieces[i] as ByteRange).length)) return undefined
  if ((value.etag !== undefined && typeof value.etag !== 'string') || (value.lastModified !== undefined && typeof value.lastModified !== 'string')) return undefined
  return value as SavedState
}
