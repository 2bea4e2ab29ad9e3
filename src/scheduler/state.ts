import { mkdir } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import { Level } from 'level'
import { SchedulerLocked } from './errors.js'
import { Holdings } from './holdings.js'
import type { ClientRecord, PeerRecord, PreheatRecord, TaskRecord } from './interface.js'

/**
 * What the scheduler knows, in memory, and written to LevelDB (under `<data dir>/scheduler`) as
 * it changes: a restart keeps peers, tasks, who holds which piece, bans, clients and preheats.
 * Pieces handed out and not yet reported are not kept (they are handed out again after a restart).
 *
 * Durability: `write` resolves once LevelDB has the batch in its log (written, not fsync'ed), and
 * the API answers only then: a killed scheduler (SIGKILL) keeps every change it answered for; a
 * power cut may lose the last ones. Batches are written one at a time, in the order asked, and
 * those asked for while one is written go together in the next (group commit).
 */

type Op = { type: 'put', key: string, value: string } | { type: 'del', key: string }

const SEP = '\u0000'
const key = (...parts: Array<string | number>): string => parts.join(SEP)

/** Keys: p peer, t task, h holdings (task, peer), b ban (task, piece, peer), c client, r preheat. */
export const keys = {
  peer: (id: string) => key('p', id),
  task: (id: string) => key('t', id),
  holding: (task: string, peer: string) => key('h', task, peer),
  ban: (task: string, piece: number, peer: string) => key('b', task, piece, peer),
  client: (cid: string) => key('c', cid),
  preheat: (id: string) => key('r', id)
} as const

export const put = (k: string, value: unknown): Op => ({ type: 'put', key: k, value: JSON.stringify(value) })
export const del = (k: string): Op => ({ type: 'del', key: k })

/** A set of piece numbers as a bitfield in base64 (32 bytes for 256 pieces). */
export function encodePieces (pieces: Iterable<number>, total: number): string {
  const bits = new Uint8Array(Math.ceil(total / 8))
  for (const piece of pieces) if (piece < total) bits[piece >> 3] = (bits[piece >> 3] as number) | (1 << (piece & 7))
  return Buffer.from(bits).toString('base64')
}

export function decodePieces (text: string): number[] {
  const bits = Buffer.from(text, 'base64')
  const out: number[] = []
  for (let i = 0; i < bits.length * 8; i++) if (((bits[i >> 3] as number) & (1 << (i & 7))) !== 0) out.push(i)
  return out
}

export class SchedulerState {
  readonly peers = new Map<string, PeerRecord>()
  readonly tasks = new Map<string, TaskRecord>()
  /** task -> who holds which of its pieces. */
  readonly holdings = new Map<string, Holdings>()
  /** task -> piece -> peers that sent a bad copy and have not reported the piece good since. */
  readonly bans = new Map<string, Map<number, Set<string>>>()
  readonly clients = new Map<string, ClientRecord>()
  readonly preheats = new Map<string, PreheatRecord>()
  private pending: Op[] = []
  private waiters: Array<{ resolve: () => void, reject: (err: Error) => void }> = []
  private flushing: Promise<void> | undefined

  private constructor (private readonly db: Level<string, string> | undefined) {}

  /** The state kept at `location` (made if missing), or in memory only without one. */
  static async open (location: string | undefined, log: Logger): Promise<SchedulerState> {
    if (location === undefined) return new SchedulerState(undefined)
    await mkdir(location, { recursive: true })
    const db = new Level<string, string>(location, { valueEncoding: 'utf8' })
    try {
      await db.open()
    } catch (err) {
      if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') throw new SchedulerLocked(location, { cause: err })
      throw err
    }
    const state = new SchedulerState(db)
    let dropped = 0
    for await (const [k, v] of db.iterator()) {
      try {
        state.load(k.split(SEP), JSON.parse(v))
      } catch {
        dropped++
      }
    }
    if (dropped > 0) log.error('dropped %d records that did not parse', dropped)
    log('opened %s: %d peers, %d tasks, %d preheats', location, state.peers.size, state.tasks.size, state.preheats.size)
    return state
  }

  private load (parts: string[], value: unknown): void {
    const [kind, a = '', b = '', c = ''] = parts
    switch (kind) {
      case 'p': this.peers.set(a, value as PeerRecord); break
      case 't': this.tasks.set(a, value as TaskRecord); break
      case 'h': for (const piece of decodePieces(value as string)) this.holdingsOf(a).add(b, piece); break
      case 'b': this.bannedOf(a, Number(b)).add(c); break
      case 'c': this.clients.set(a, value as ClientRecord); break
      case 'r': this.preheats.set(a, value as PreheatRecord); break
      default: throw new TypeError(`unknown record kind ${String(kind)}`)
    }
  }

  holdingsOf (task: string): Holdings {
    let holdings = this.holdings.get(task)
    if (holdings === undefined) this.holdings.set(task, holdings = new Holdings())
    return holdings
  }

  bannedOf (task: string, piece: number): Set<string> {
    let pieces = this.bans.get(task)
    if (pieces === undefined) this.bans.set(task, pieces = new Map())
    let peers = pieces.get(piece)
    if (peers === undefined) pieces.set(piece, peers = new Set())
    return peers
  }

  /** Writes `ops` (resolves once they are in LevelDB's log; at once in memory). */
  async write (ops: Op[]): Promise<void> {
    if (this.db === undefined || ops.length === 0) return
    this.pending.push(...ops)
    const done = new Promise<void>((resolve, reject) => { this.waiters.push({ resolve, reject }) })
    this.flushing ??= this.flush()
    await done
  }

  private async flush (): Promise<void> {
    const db = this.db as Level<string, string>
    while (this.pending.length > 0) {
      const ops = this.pending
      const waiters = this.waiters
      this.pending = []
      this.waiters = []
      try {
        await db.batch(ops)
        for (const waiter of waiters) waiter.resolve()
      } catch (err) {
        for (const waiter of waiters) waiter.reject(err as Error)
      }
    }
    this.flushing = undefined
  }

  async close (): Promise<void> {
    await this.flushing
    await this.db?.close()
  }
}
