import { planPieces, type SourceState } from './assign.js'
import type { SchedulerContext } from './context.js'
import type { Assignment, TaskRecord } from './interface.js'
import type { Peers } from './peers.js'
import { encodePieces, keys, put, del } from './state.js'

export type PieceOutcome = 'good' | 'failed' | 'corrupt'

interface Flight { source: string, at: number }

/**
 * Pieces: who holds which (reported by the peers that verified them), which are handed out and
 * not yet reported (in flight, forgotten after assignmentTimeoutMs), and the planning of what a
 * requester fetches next and from whom (assign.ts). A failed or corrupt piece lowers its source's
 * standing and bans the source for that piece until the source itself reports it good again.
 */
export class Pieces {
  /** task -> requester -> piece -> where it was sent to fetch it. Not kept across restarts. */
  private readonly flights = new Map<string, Map<string, Map<number, Flight>>>()
  /** Pieces in flight per source: the load a source has from this scheduler's own hand-outs. */
  private readonly handedOut = new Map<string, number>()

  constructor (private readonly ctx: SchedulerContext, private readonly peers: Peers) {}

  /** `peer` holds every piece of `task` (the seed after its import; a peer that finished). */
  async holdAll (task: TaskRecord, peer: string): Promise<void> {
    await this.ctx.state.write(this.holdAllNow(task, peer))
  }

  /** holdAll in memory at once; the record to write is returned (to go in the caller's batch). */
  holdAllNow (task: TaskRecord, peer: string): Array<ReturnType<typeof put>> {
    const holdings = this.ctx.state.holdingsOf(task.ID)
    for (let piece = 0; piece < task.pieceTotal; piece++) holdings.add(peer, piece)
    return [put(keys.holding(task.ID, peer), encodePieces(holdings.piecesOf(peer), task.pieceTotal))]
  }

  /**
   * `downloader` fetched `piece` from `source`: good (verified; it now holds the piece, and a ban
   * of its own on the piece is lifted) or not (the source is banned for the piece and its
   * standing falls).
   */
  async report (task: TaskRecord, piece: number, downloader: string, source: string | undefined, outcome: PieceOutcome, now = Date.now()): Promise<void> {
    const { state, metrics } = this.ctx
    this.land(task.ID, downloader, piece)
    const ops = []
    if (outcome === 'good') {
      const holdings = state.holdingsOf(task.ID)
      if (holdings.add(downloader, piece)) ops.push(put(keys.holding(task.ID, downloader), encodePieces(holdings.piecesOf(downloader), task.pieceTotal)))
      const banned = state.bans.get(task.ID)?.get(piece)
      if (banned?.delete(downloader) === true) ops.push(del(keys.ban(task.ID, piece, downloader)))
      if (source !== undefined && source !== downloader) metrics.pieceServed(state.peers.get(source)?.extra.seed === 'true' ? 'seed' : 'peer')
    } else {
      metrics.pieceError(outcome)
      if (source !== undefined && source !== downloader && state.peers.has(source)) {
        state.bannedOf(task.ID, piece).add(source)
        ops.push(put(keys.ban(task.ID, piece, source), now))
      }
    }
    await state.write(ops)
    if (source !== undefined && source !== downloader) await this.peers.judge(source, outcome)
  }

  /** The next pieces for `requester` (at most `want`), each with its source; they are in flight from now. */
  plan (task: TaskRecord, requester: string, want: number, now = Date.now()): Assignment[] {
    if (task.cdnStatus !== 'SUCCESS' || task.pieceTotal === 0) return []
    const { state, settings } = this.ctx
    const flights = this.flightsOf(task.ID)
    this.expire(task.ID, flights, now)
    const mine = flights.get(requester)
    const holdings = state.holdingsOf(task.ID)
    const held = holdings.piecesOf(requester)
    const banned = state.bans.get(task.ID)
    const sources = new Map<string, SourceState | undefined>()
    const others = new Uint32Array(task.pieceTotal)
    for (const [who, pieces] of flights) if (who !== requester) for (const piece of pieces.keys()) others[piece] = (others[piece] as number) + 1
    const plan = planPieces({
      pieceTotal: task.pieceTotal,
      requester,
      has: piece => held.has(piece) || mine?.has(piece) === true,
      holders: piece => holdings.holdersOf(piece),
      inFlight: piece => others[piece] as number,
      banned: (piece, source) => banned?.get(piece)?.has(source) === true,
      source: id => {
        if (!sources.has(id)) {
          const peer = state.peers.get(id)
          sources.set(id, peer === undefined ? undefined : { load: peer.load + (this.handedOut.get(id) ?? 0), standing: peer.standing, seed: peer.extra.seed === 'true' })
        }
        return sources.get(id)
      },
      want,
      seedCopies: settings.seedCopies
    })
    for (const { piece, source } of plan) this.launch(task.ID, requester, piece, source, now)
    return plan
  }

  /** Whether `peer` holds every piece of `task`. */
  holdsAll (task: TaskRecord, peer: string): boolean {
    return task.pieceTotal > 0 && this.ctx.state.holdings.get(task.ID)?.piecesOf(peer).size === task.pieceTotal
  }

  /** A task deleted: its pieces in flight are forgotten. */
  forget (taskId: string): void {
    for (const pieces of this.flights.get(taskId)?.values() ?? []) for (const flight of pieces.values()) this.unload(flight.source)
    this.flights.delete(taskId)
  }

  private flightsOf (taskId: string): Map<string, Map<number, Flight>> {
    let flights = this.flights.get(taskId)
    if (flights === undefined) this.flights.set(taskId, flights = new Map())
    return flights
  }

  private launch (taskId: string, requester: string, piece: number, source: string, now: number): void {
    const flights = this.flightsOf(taskId)
    let mine = flights.get(requester)
    if (mine === undefined) flights.set(requester, mine = new Map())
    mine.set(piece, { source, at: now })
    this.handedOut.set(source, (this.handedOut.get(source) ?? 0) + 1)
  }

  private land (taskId: string, requester: string, piece: number): void {
    const mine = this.flights.get(taskId)?.get(requester)
    const flight = mine?.get(piece)
    if (flight === undefined) return
    mine?.delete(piece)
    this.unload(flight.source)
  }

  private unload (source: string): void {
    const left = (this.handedOut.get(source) ?? 1) - 1
    if (left <= 0) this.handedOut.delete(source)
    else this.handedOut.set(source, left)
  }

  private expire (taskId: string, flights: Map<string, Map<number, Flight>>, now: number): void {
    for (const [requester, pieces] of flights) {
      for (const [piece, flight] of pieces) if (now - flight.at > this.ctx.settings.assignmentTimeoutMs) this.land(taskId, requester, piece)
      if (pieces.size === 0) flights.delete(requester)
    }
  }
}
