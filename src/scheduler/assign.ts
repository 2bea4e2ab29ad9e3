import type { Assignment } from './interface.js'

/** A source's side of the planning: how loaded it is and how far it is trusted. */
export interface SourceState {
  /** Work it reported plus pieces already handed out with it as the source. */
  load: number
  /** 1 when trusted; lowered by failed and corrupt pieces (at least 0.05). */
  standing: number
  seed: boolean
}

export interface PlanInput {
  pieceTotal: number
  /** The requester's peer id: never its own source. */
  requester: string
  /** Pieces the requester holds, or is fetching now (not handed out again). */
  has: (piece: number) => boolean
  /** Peers holding each piece (seeds included). */
  holders: (piece: number) => Iterable<string>
  /** How many peers other than the requester are fetching the piece now. */
  inFlight: (piece: number) => number
  /** Whether `source` sent a bad copy of `piece` and has not reported it good since. */
  banned: (piece: number, source: string) => boolean
  /** A holder's state; undefined for one that may not serve (not registered). */
  source: (id: string) => SourceState | undefined
  /** Pieces to hand out at most. */
  want: number
  /** While this many peers are fetching a piece no usable peer holds, the seed is not its source. */
  seedCopies: number
}

/**
 * Which pieces the requester should fetch next and from whom. Pure: the scheduler's state goes in
 * through the callbacks, assignments come out.
 *
 * - Rarest first: pieces with the fewest copies (held by peers, or on their way to one) go first,
 *   so the peers soon hold different pieces to trade with one another.
 * - Among the peers holding a piece, the one with the least load for its standing
 *   ((load + 1) / standing); each piece handed out adds one to its source's load, so one answer
 *   spreads over the holders too. A source banned for the piece is skipped.
 * - The seed is a source only when no peer that holds the piece may be used, and fewer than
 *   `seedCopies` peers are fetching it: a piece already on its way to a peer is worth waiting
 *   for, so the seed sends each piece about once.
 */
export function planPieces (input: PlanInput): Assignment[] {
  const candidates: Array<{ piece: number, copies: number }> = []
  for (let piece = 0; piece < input.pieceTotal; piece++) {
    if (input.has(piece)) continue
    let copies = input.inFlight(piece)
    for (const holder of input.holders(piece)) if (input.source(holder)?.seed === false) copies++
    candidates.push({ piece, copies })
  }
  candidates.sort((a, b) => a.copies - b.copies || a.piece - b.piece)
  const extra = new Map<string, number>()
  const out: Assignment[] = []
  for (const { piece } of candidates) {
    if (out.length >= input.want) break
    let best: { source: string, cost: number } | undefined
    let seed: { source: string, cost: number } | undefined
    for (const holder of input.holders(piece)) {
      const state = input.source(holder)
      if (holder === input.requester || state === undefined || input.banned(piece, holder)) continue
      const cost = (state.load + (extra.get(holder) ?? 0) + 1) / Math.max(0.05, state.standing)
      if (state.seed) {
        if (seed === undefined || cost < seed.cost) seed = { source: holder, cost }
      } else if (best === undefined || cost < best.cost || (cost === best.cost && holder < best.source)) {
        best = { source: holder, cost }
      }
    }
    // No peer may serve it: the seed, unless enough peers are fetching it already (copies held
    // by peers banned for the piece do not count: they cannot serve it).
    const chosen = best ?? (seed !== undefined && input.inFlight(piece) < input.seedCopies ? seed : undefined)
    if (chosen === undefined) continue
    extra.set(chosen.source, (extra.get(chosen.source) ?? 0) + 1)
    out.push({ piece, source: chosen.source })
  }
  return out
}
