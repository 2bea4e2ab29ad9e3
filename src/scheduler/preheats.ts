import { taskIdOf } from '../origin/task-id.js'
import type { SchedulerContext } from './context.js'
import { BadParameter, UnknownRecord, PreheatExists, SchedulerFull } from './errors.js'
import type { PreheatRecord } from './interface.js'
import { del, keys, put } from './state.js'
import type { Tasks } from './tasks.js'

export interface PreheatCreation {
  type: 'image' | 'file'
  url: string
  filter: string[]
  identifier?: string
  headers?: Record<string, string>
}

/**
 * Preheats: a seed peer told to import a URL before anyone asks for it. The id is the task id of
 * the URL (with its filter and identifier), so a second preheat of one file is PreheatExists
 * (409) unless the first FAILED. WAITING -> RUNNING (the task's import through its seed) ->
 * SUCCESS | FAILED with the error; finished ones are kept preheatKeepMs (24 h), then dropped.
 */
export class Preheats {
  constructor (private readonly ctx: SchedulerContext, private readonly tasks: Tasks) {}

  async create (creation: PreheatCreation, now = Date.now()): Promise<PreheatRecord> {
    const { state, limits } = this.ctx
    if (creation.type === 'image') throw new BadParameter('type', 'image preheats (a registry\'s layers) are not supported: use file')
    let ID: string
    try {
      ID = taskIdOf(creation.url, { filter: creation.filter, ...(creation.identifier === undefined ? {} : { tag: creation.identifier }) })
    } catch (err) {
      throw new BadParameter('url', (err as Error).message)
    }
    await this.prune(now)
    const known = state.preheats.get(ID)
    if (known !== undefined && known.status !== 'FAILED') throw new PreheatExists(ID)
    if (known === undefined && state.preheats.size >= limits.maxPreheats) throw new SchedulerFull('preheats', limits.maxPreheats)
    const preheat: PreheatRecord = {
      ID, type: creation.type, url: creation.url, filter: creation.filter, identifier: creation.identifier ?? '',
      status: 'WAITING', taskId: ID, created: now
    }
    state.preheats.set(ID, preheat)
    await state.write([put(keys.preheat(ID), preheat)])
    this.run(preheat, creation.headers ?? {})
    return preheat
  }

  /** Runs (or, after a restart, runs again) a preheat to its end. */
  run (preheat: PreheatRecord, headers: Record<string, string>): void {
    void (async () => {
      const task = await this.tasks.create({
        rawURL: preheat.url, filter: preheat.filter, headers,
        ...(preheat.identifier === '' ? {} : { identifier: preheat.identifier })
      })
      const importing = this.tasks.imports.get(task.ID)
      if (task.cdnStatus !== 'SUCCESS' && importing === undefined) {
        await this.finish(preheat, 'FAILED', 'no seed peer is known to the scheduler (register one, or start it with --seed)')
        return
      }
      await this.update(preheat, { status: 'RUNNING', startTime: new Date().toISOString() })
      await importing
      if (task.cdnStatus === 'SUCCESS') await this.finish(preheat, 'SUCCESS')
      else if (this.ctx.state.preheats.get(preheat.ID) === preheat && task.cdnStatus !== 'RUNNING') await this.finish(preheat, 'FAILED', task.error ?? task.cdnStatus)
    })().catch(err => {
      this.ctx.log.error('preheat %s: %e', preheat.ID, err)
      this.finish(preheat, 'FAILED', `${(err as Error).name}: ${(err as Error).message}`).catch(() => {
        this.ctx.log.error('preheat %s: could not record its failure', preheat.ID)
      })
    })
  }

  get (id: string, now = Date.now()): PreheatRecord {
    const preheat = this.ctx.state.preheats.get(id)
    if (preheat === undefined || this.stale(preheat, now)) throw new UnknownRecord('preheat task', id)
    return preheat
  }

  async list (now = Date.now()): Promise<PreheatRecord[]> {
    await this.prune(now)
    return [...this.ctx.state.preheats.values()].sort((a, b) => a.created - b.created || (a.ID < b.ID ? -1 : 1))
  }

  async remove (id: string): Promise<void> {
    this.get(id)
    this.ctx.state.preheats.delete(id)
    await this.ctx.state.write([del(keys.preheat(id))])
  }

  private stale (preheat: PreheatRecord, now: number): boolean {
    return preheat.finishTime !== undefined && now - Date.parse(preheat.finishTime) > this.ctx.settings.preheatKeepMs
  }

  /** Finished preheats older than preheatKeepMs go. */
  async prune (now = Date.now()): Promise<void> {
    const ops = []
    for (const preheat of this.ctx.state.preheats.values()) {
      if (this.stale(preheat, now)) { this.ctx.state.preheats.delete(preheat.ID); ops.push(del(keys.preheat(preheat.ID))) }
    }
    await this.ctx.state.write(ops)
  }

  private async finish (preheat: PreheatRecord, status: 'SUCCESS' | 'FAILED', errorMsg?: string): Promise<void> {
    const now = new Date().toISOString()
    await this.update(preheat, { status, startTime: preheat.startTime ?? now, finishTime: now, ...(errorMsg === undefined ? {} : { errorMsg }) })
  }

  private async update (preheat: PreheatRecord, change: Partial<PreheatRecord>): Promise<void> {
    Object.assign(preheat, change)
    // A preheat deleted meanwhile stays deleted.
    if (this.ctx.state.preheats.get(preheat.ID) === preheat) await this.ctx.state.write([put(keys.preheat(preheat.ID), preheat)])
  }
}
