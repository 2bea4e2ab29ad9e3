import { defaultPieceSize, groupAligned } from '../origin/pieces.js'
import { taskIdOf, taskUrlOf } from '../origin/task-id.js'
import type { SchedulerContext } from './context.js'
import { BadParameter, UnknownRecord, SchedulerFull } from './errors.js'
import type { PeerRecord, TaskRecord } from './interface.js'
import type { Pieces } from './pieces.js'
import { del, keys, put } from './state.js'

/** What a task is created from (TaskCreateRequest, TaskRegisterRequest), checked. */
export interface TaskCreation {
  rawURL: string
  filter?: string[]
  /** Dragonfly's identifier: the task id's tag. */
  identifier?: string
  /** Sent to the origin by the seed; never kept on disk, never answered. */
  headers?: Record<string, string>
  md5?: string
  fileLength?: number
  /** A digest the caller names the task by instead of the URL's task id. */
  taskId?: string
  /** The blob's BLAKE3 hash, when the creator has the file already (then it holds every piece). */
  hash?: string
  /** The peer creating it; it holds every piece when it gives `hash`. */
  creator?: PeerRecord
  asSeed?: boolean
}

/** Piece size and count of a file of `fileLength` bytes (Dragonfly's rule, in whole 16 KiB groups). */
export function piecesFor (fileLength: number): { pieceSize: number, pieceTotal: number } {
  if (fileLength < 0) return { pieceSize: groupAligned(defaultPieceSize(0)), pieceTotal: 0 }
  const pieceSize = groupAligned(defaultPieceSize(fileLength))
  return { pieceSize, pieceTotal: Math.ceil(fileLength / pieceSize) }
}

/** `start-end` (both included) of a piece, as the API writes ranges. */
export function rangeOf (task: TaskRecord, piece: number): string {
  const start = piece * task.pieceSize
  return `${start}-${Math.min(start + task.pieceSize, task.fileLength) - 1}`
}

/** The piece a range names: exactly one of the task's pieces, or BadParameter naming `field`. */
export function pieceOf (task: TaskRecord, range: { start: number, end: number }, field: string): number {
  const piece = Math.floor(range.start / task.pieceSize)
  if (task.pieceTotal === 0 || range.start % task.pieceSize !== 0 || piece >= task.pieceTotal || rangeOf(task, piece) !== `${range.start}-${range.end}`) {
    throw new BadParameter(field, `${range.start}-${range.end} is not a piece of task ${task.ID} (${task.pieceTotal} pieces of ${task.pieceSize} bytes)`)
  }
  return piece
}

/**
 * Tasks: made (or joined) from a URL, their file imported by a seed peer (cdnStatus WAITING ->
 * RUNNING -> SUCCESS, or FAILED, SOURCE_ERROR for the origin's errors), after which the seed holds
 * every piece; or named with their hash by a creator that has the file.
 */
export class Tasks {
  /** Imports under way, by task id. */
  readonly imports = new Map<string, Promise<void>>()
  private readonly stopping = new AbortController()

  constructor (private readonly ctx: SchedulerContext, private readonly pieces: Pieces) {}

  get (id: string): TaskRecord {
    const task = this.ctx.state.tasks.get(id)
    if (task === undefined) throw new UnknownRecord('task', id)
    return task
  }

  /** The task for this URL (made if new); its import started when a seed is known and nobody has the file. */
  async create (creation: TaskCreation, now = Date.now()): Promise<TaskRecord> {
    const { state, limits } = this.ctx
    const filter = creation.filter ?? []
    let ID: string
    let taskURL: string
    try {
      taskURL = taskUrlOf(creation.rawURL, filter)
      ID = creation.taskId ?? taskIdOf(creation.rawURL, { filter, ...(creation.identifier === undefined ? {} : { tag: creation.identifier }) })
    } catch (err) {
      // taskIdOf names what it refused: the tag (our identifier), the filter, or the URL.
      const message = (err as Error).message
      throw new BadParameter(message.startsWith('tag') ? 'identifier' : message.startsWith('filter') ? 'filter' : 'rawURL', message)
    }
    let task = state.tasks.get(ID)
    if (task === undefined) {
      if (state.tasks.size >= limits.maxTasks) throw new SchedulerFull('tasks', limits.maxTasks)
      const fileLength = creation.fileLength ?? -1
      task = {
        ID, rawURL: creation.rawURL, taskURL, fileLength, httpFileLength: fileLength, ...piecesFor(fileLength),
        cdnStatus: 'WAITING', hash: '', identifier: creation.identifier ?? '', filter, md5: creation.md5 ?? '',
        asSeed: creation.asSeed ?? false, created: now
      }
      if (task.pieceTotal > limits.maxPieceTotal) throw new BadParameter('fileLength', `makes ${task.pieceTotal} pieces, more than ${limits.maxPieceTotal}`)
      state.tasks.set(ID, task)
      await state.write([put(keys.task(ID), task)])
    }
    if (creation.hash !== undefined && task.cdnStatus !== 'SUCCESS') {
      if (creation.fileLength === undefined) throw new BadParameter('fileLength', 'is required with hash')
      await this.known(task, creation.hash, creation.fileLength, creation.creator?.ID)
    } else if (creation.hash !== undefined && creation.creator !== undefined && creation.hash === task.hash) {
      await this.pieces.holdAll(task, creation.creator.ID)
    }
    if (task.cdnStatus !== 'SUCCESS' && task.cdnStatus !== 'RUNNING') this.startImport(task, creation.headers ?? {})
    return task
  }

  /** Starts the seed's import of the task, when a seed is known (resolves when it ends; never rejects). */
  startImport (task: TaskRecord, headers: Record<string, string>): Promise<void> | undefined {
    const running = this.imports.get(task.ID)
    if (running !== undefined) return running
    const seed = this.seedFor(task.ID)
    const importer = this.ctx.importer
    if (seed === undefined || importer === undefined) return undefined
    const target = { peerId: seed.extra.peerId ?? '', addrs: (seed.extra.addrs ?? '').split(' ').filter(addr => addr !== '') }
    const options = { filter: task.filter, headers, signal: this.stopping.signal, ...(task.identifier === '' ? {} : { tag: task.identifier }) }
    const run = (async () => {
      await this.setStatus(task, 'RUNNING')
      try {
        const { hash, size } = await importer(target, task.rawURL, options)
        await this.known(task, hash, size, seed.ID)
        this.ctx.log('task %s: imported by seed %s, %d bytes', task.ID, seed.ID, size)
      } catch (err) {
        if (this.stopping.signal.aborted) return // the scheduler stops: RUNNING is resumed at the next start
        const name = (err as Error).name
        task.error = `${name}: ${(err as Error).message}`
        await this.setStatus(task, name.startsWith('Origin') ? 'SOURCE_ERROR' : 'FAILED')
        this.ctx.log.error('task %s: %s', task.ID, task.error)
      }
    })().catch(err => { this.ctx.log.error('task %s: could not record the import: %e', task.ID, err) })
      .finally(() => { this.imports.delete(task.ID) })
    this.imports.set(task.ID, run)
    return run
  }

  /** The seed a task goes to: one of the seeds registered or given, the same for every request of the task. */
  private seedFor (taskId: string): PeerRecord | undefined {
    const seeds = [...this.ctx.state.peers.values()].filter(peer => peer.extra.seed === 'true').sort((a, b) => a.ID < b.ID ? -1 : 1)
    if (seeds.length === 0) return undefined
    return seeds[Number.parseInt(taskId.slice(0, 8), 16) % seeds.length || 0]
  }

  /** The file is known: its hash and length, so its pieces; `holder` holds them all. */
  private async known (task: TaskRecord, hash: string, fileLength: number, holder: string | undefined): Promise<void> {
    const sizes = piecesFor(fileLength)
    if (sizes.pieceTotal > this.ctx.limits.maxPieceTotal) throw new BadParameter('fileLength', `makes ${sizes.pieceTotal} pieces, more than ${this.ctx.limits.maxPieceTotal}`)
    // Another file than the one pieces were reported of (the origin's file changed, or a creator
    // named another length): those reports are about other bytes, so they go.
    if ((task.hash !== '' && task.hash !== hash) || (task.fileLength >= 0 && task.fileLength !== fileLength)) await this.forgetPieces(task.ID)
    // The holder and SUCCESS become visible together (no await between them): whoever sees the
    // task known sees its pieces held.
    Object.assign(task, { hash, fileLength, httpFileLength: fileLength, ...sizes })
    const held = holder === undefined ? [] : this.pieces.holdAllNow(task, holder)
    task.cdnStatus = 'SUCCESS'
    delete task.error
    await this.ctx.state.write([...held, put(keys.task(task.ID), task)])
  }

  private async setStatus (task: TaskRecord, status: TaskRecord['cdnStatus']): Promise<void> {
    task.cdnStatus = status
    await this.ctx.state.write([put(keys.task(task.ID), task)])
  }

  /** The task gone, with who held its pieces, its bans and its clients. */
  async remove (id: string): Promise<void> {
    const { state } = this.ctx
    this.get(id)
    state.tasks.delete(id)
    const ops = [del(keys.task(id))]
    for (const [cid, client] of state.clients) if (client.taskId === id) { state.clients.delete(cid); ops.push(del(keys.client(cid))) }
    await state.write(ops)
    await this.forgetPieces(id)
  }

  /** Who held which piece of the task, its bans and its pieces in flight, forgotten. */
  private async forgetPieces (id: string): Promise<void> {
    const { state } = this.ctx
    const ops = []
    for (const peer of state.holdings.get(id)?.peers() ?? []) ops.push(del(keys.holding(id, peer)))
    state.holdings.delete(id)
    for (const [piece, peers] of state.bans.get(id) ?? []) for (const peer of peers) ops.push(del(keys.ban(id, piece, peer)))
    state.bans.delete(id)
    this.pieces.forget(id)
    await state.write(ops)
  }

  /** Imports stop (a task RUNNING is imported again at the next start). */
  async close (): Promise<void> {
    this.stopping.abort()
    await Promise.all(this.imports.values())
  }
}
