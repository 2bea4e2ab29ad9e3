import assert from 'node:assert/strict'
import { planPieces, type PlanInput, type SourceState } from '../../../src/scheduler/assign.js'

/** A plan over `holders` (piece -> peers) with every source at load 0, standing 1, except as given. */
function plan (holders: string[][], overrides: Partial<PlanInput> = {}, states: Record<string, Partial<SourceState>> = {}): Array<[number, string]> {
  const input: PlanInput = {
    pieceTotal: holders.length,
    requester: 'me',
    has: () => false,
    holders: piece => holders[piece] ?? [],
    inFlight: () => 0,
    banned: () => false,
    source: id => ({ load: 0, standing: 1, seed: id === 'seed', ...states[id] }),
    want: 100,
    seedCopies: 1,
    ...overrides
  }
  return planPieces(input).map(({ piece, source }) => [piece, source])
}

describe('scheduler planPieces: what a requester fetches next and from whom', () => {
  it('rarest first: pieces with fewer peer copies come before common ones', () => {
    assert.deepEqual(plan([['a', 'b', 'seed'], ['c', 'seed'], ['a', 'b', 'c', 'seed']]).map(([piece]) => piece), [1, 0, 2])
  })

  it('spreads one answer over the holders by load, and weighs load by standing', () => {
    const holders = Array.from({ length: 6 }, () => ['a', 'b', 'c'])
    const counts = (out: Array<[number, string]>): Record<string, number> => out.reduce<Record<string, number>>((n, [, s]) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {})
    assert.deepEqual(counts(plan(holders)), { a: 2, b: 2, c: 2 })
    assert.deepEqual(counts(plan(holders, {}, { a: { load: 4 } })), { b: 3, c: 3 }, 'a reports load 4: the others take it all first')
    assert.deepEqual(counts(plan(holders, {}, { c: { standing: 0.25 } })), { a: 3, b: 3 }, 'c at a quarter of its standing costs 4x')
  })

  it('the seed only for a piece no usable peer holds, and not while enough peers are already fetching it', () => {
    assert.deepEqual(plan([['seed', 'a'], ['seed']]), [[1, 'seed'], [0, 'a']])
    assert.deepEqual(plan([['seed'], ['seed']], { inFlight: piece => piece === 0 ? 1 : 0 }), [[1, 'seed']], 'piece 0 is on its way to another peer: wait for it')
    assert.deepEqual(plan([['seed'], ['seed']], { inFlight: () => 1, seedCopies: 2 }), [[0, 'seed'], [1, 'seed']])
  })

  it('a source banned for a piece is skipped for that piece only; the seed steps in when every peer copy is banned', () => {
    const banned = (piece: number, source: string): boolean => piece === 0 && source === 'a'
    assert.deepEqual(plan([['a', 'seed'], ['a', 'seed']], { banned }), [[0, 'seed'], [1, 'a']])
  })

  it('never the requester itself, nothing it has, nobody unregistered, at most `want`', () => {
    assert.deepEqual(plan([['me'], ['ghost'], ['a'], ['a'], ['a']], { has: piece => piece === 2, source: id => id === 'ghost' ? undefined : { load: 0, standing: 1, seed: false }, want: 1 }), [[3, 'a']])
  })
})
