import assert from 'node:assert/strict'
import fc from 'fast-check'
import { CHUNK_SIZE } from '../../../store/bao/constants.js'
import { ChunkRanges, MAX_CHUNK } from '../../../store/ranges/chunk-ranges.js'
import { carve, release, stalled, take, type PlanOptions } from '../../../src/downloader/planner.js'
import { newProvider, newWant, type ProviderState, type RunningView, type Unit, type Want } from '../../../src/downloader/state.js'
import { randomBytes } from '../../helpers.js'

const MIB = 1 << 20
const options = (strategy: 'split' | 'none'): PlanOptions =>
  ({ strategy, minStripeBytes: MIB, maxStripeBytes: 16 * MIB, perProvider: 2, batchBlobs: 32, stallMs: 2000 })

/** A blob of `size` bytes (undefined: not known yet) with `missing` of it still to fetch. */
function want (seed: number, size: number | undefined, missing: ChunkRanges): Want {
  const w = newWant(randomBytes(32, seed), ChunkRanges.all())
  if (size !== undefined) {
    const chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE))
    w.size = size
    w.asked = ChunkRanges.to(chunks)
    w.missing = missing.intersection(w.asked)
  }
  return w
}

/** Ranges inside [0, chunks): a few spans from sorted cut points. */
const rangesIn = (chunks: number): fc.Arbitrary<ChunkRanges> =>
  fc.uniqueArray(fc.integer({ min: 0, max: chunks }), { maxLength: 12 }).map(cuts => ChunkRanges.fromBoundaries(cuts.sort((a, b) => a - b)))

/** A download's state: 1-4 blobs (known sizes, what is missing of each) and 1-4 providers, one lacking nothing. */
const states = fc.record({
  blobs: fc.array(fc.record({ size: fc.integer({ min: 1, max: 40 * MIB }), cut: fc.nat() }), { minLength: 1, maxLength: 4 }),
  providers: fc.integer({ min: 1, max: 4 }),
  rates: fc.array(fc.option(fc.integer({ min: 1, max: 400 * MIB }), { nil: undefined }), { minLength: 4, maxLength: 4 }),
  strategy: fc.constantFrom('split' as const, 'none' as const),
  lacking: fc.array(fc.nat(), { maxLength: 8 }),
  order: fc.array(fc.nat(), { minLength: 200, maxLength: 200 })
}).chain(s => fc.tuple(fc.constant(s), fc.tuple(...s.blobs.map(b => rangesIn(Math.ceil(b.size / CHUNK_SIZE))))))

function build ([s, missing]: [{ blobs: Array<{ size: number }>, providers: number, rates: Array<number | undefined>, lacking: number[] }, ChunkRanges[]]):
{ wants: Want[], providers: ProviderState[] } {
  const wants = s.blobs.map((b, i) => want(i + 1, b.size, (missing[i] as ChunkRanges).isEmpty() ? ChunkRanges.all() : missing[i] as ChunkRanges))
  const providers = Array.from({ length: s.providers }, (_, i) => {
    const p = newProvider(`p${i}`, `/p${i}`)
    const rate = s.rates[i]
    if (rate !== undefined) p.rate = rate
    return p
  })
  // Every provider but the first may lack parts of some blobs.
  for (const [k, n] of s.lacking.entries()) {
    const p = providers[1 + (n % Math.max(1, providers.length - 1))]
    const w = wants[k % wants.length] as Want
    if (p !== undefined && providers.length > 1) p.lacks.set(w.hex, ChunkRanges.range(n % 64, (n % 64) + 1 + (n % 200)))
  }
  return { wants, providers }
}

/** Ask providers in the given order until none takes anything: the units each got. */
function exhaust (wants: Want[], providers: ProviderState[], plan: PlanOptions, order: number[]): Map<ProviderState, Unit[]> {
  const units = new Map<ProviderState, Unit[]>(providers.map(p => [p, []]))
  for (let round = 0; round < 200; round++) {
    let any = false
    for (const n of order) {
      const p = providers[n % providers.length] as ProviderState
      if (p.dropped) continue
      const unit = take(wants, p, providers, plan)
      if (unit !== undefined) { (units.get(p) as Unit[]).push(unit); any = true }
    }
    if (!any) return units
  }
  throw new Error('the planner never ran out of work')
}

/** What the units ask of `w`, together. */
function askedOf (w: Want, units: Iterable<Unit>): ChunkRanges {
  let all = ChunkRanges.empty()
  for (const unit of units) for (const part of unit) if (part.want === w) all = all.union(part.ranges)
  return all
}

describe('the Downloader\'s planner (pure: no nodes)', () => {
  it('hands out no chunk to two requests at once, and nothing outside what is missing (property)', () => {
    fc.assert(fc.property(states, state => {
      const { wants, providers } = build(state)
      const units = [...exhaust(wants, providers, options(state[0].strategy), state[0].order).values()].flat()
      for (const w of wants) {
        let seen = ChunkRanges.empty()
        for (const unit of units) {
          for (const part of unit) {
            if (part.want !== w) continue
            assert.ok(part.ranges.intersection(seen).isEmpty(), `${part.ranges.toString()} overlaps ${seen.toString()}`)
            assert.ok(part.ranges.difference(w.missing).isEmpty(), `${part.ranges.toString()} is not all missing: ${w.missing.toString()}`)
            seen = seen.union(part.ranges)
          }
        }
        assert.ok(w.inflight.equals(seen), 'in flight is exactly what was handed out')
      }
    }), { seed: 20261129, numRuns: 150 })
  })

  it('assigns every missing chunk of every blob, each within a provider\'s request limits (property)', () => {
    fc.assert(fc.property(states, state => {
      const { wants, providers } = build(state)
      const units = [...exhaust(wants, providers, options(state[0].strategy), state[0].order).values()].flat()
      for (const w of wants) assert.ok(askedOf(w, units).equals(w.missing), `${w.hex.slice(0, 8)}: ${askedOf(w, units).toString()} of ${w.missing.toString()}`)
      for (const unit of units) {
        assert.ok(unit.length <= 32)
        assert.ok(unit.reduce((n, part) => n + part.ranges.rangeCount, 0) <= 16384)
        for (const part of unit) assert.ok(part.ranges.rangeCount <= 4096)
      }
    }), { seed: 20261130, numRuns: 150 })
  })

  it('gives a dropped provider\'s ranges to the others (property)', () => {
    fc.assert(fc.property(states, fc.nat(), (state, pick) => {
      const { wants, providers } = build(state)
      const plan = options(state[0].strategy)
      const first = exhaust(wants, providers, plan, state[0].order)
      // One provider (not the one lacking nothing, when there are others) fails everything it had.
      const gone = providers.length === 1 ? undefined : providers[1 + (pick % (providers.length - 1))] as ProviderState
      if (gone === undefined) return
      for (const unit of first.get(gone) as Unit[]) release(unit)
      gone.dropped = true
      const second = exhaust(wants, providers, plan, state[0].order)
      assert.deepEqual(second.get(gone), [], 'nothing more for the dropped provider')
      const kept = [...first].filter(([p]) => p !== gone).flatMap(([, units]) => units)
      for (const w of wants) {
        assert.ok(askedOf(w, [...kept, ...[...second.values()].flat()]).equals(w.missing), `${w.hex.slice(0, 8)} is covered again`)
      }
    }), { seed: 20261131, numRuns: 150 })
  })

  it('asks for a blob of unknown size once, with its last chunk (the size proof), then waits for the size', () => {
    const unknown = newWant(randomBytes(32, 7), ChunkRanges.all())
    const [a, b] = [newProvider('a', '/a'), newProvider('b', '/b')]
    const unit = take([unknown], a, [a, b], options('split')) as Unit
    assert.equal(unit.length, 1)
    assert.ok(unit[0]?.ranges.contains(MAX_CHUNK), 'the last chunk, whatever the size')
    assert.ok(unit[0]?.ranges.containsRange(0, 64), 'and a first stripe of at least 1 MiB')
    assert.equal(take([unknown], b, [a, b], options('split')), undefined, 'nothing for another provider until the size is known')
  })

  it('carves stripes at group boundaries', () => {
    assert.equal(carve(ChunkRanges.range(0, 1000), 40).toString(), '{0..48}')
    assert.equal(carve(ChunkRanges.range(5, 20).union(ChunkRanges.range(100, 300)), 30).toString(), '{5..20, 100..128}')
    assert.equal(carve(ChunkRanges.lastChunk(), 16).toString(), ChunkRanges.lastChunk().toString())
  })

  it('stops a silent or crawling request when a waiting provider could take its ranges, and only then', () => {
    const w = want(9, 64 * MIB, ChunkRanges.to(64 * 1024))
    const [slow, idle] = [newProvider('slow', '/slow'), newProvider('idle', '/idle')]
    const unit = take([w], slow, [slow], options('split')) as Unit
    // `idle` has room and nothing to take only once everything is handed out.
    const rest = take([w], slow, [slow, idle], { ...options('split'), minStripeBytes: 64 * MIB, maxStripeBytes: 64 * MIB })
    const now = 100000
    const running = (lastData: number, rate: number | undefined): RunningView => ({ provider: slow, unit: [...unit, ...(rest ?? [])], lastData, received: 1, expected: undefined, rateOver: () => rate })
    const silent = stalled(now, [w], [slow, idle], [running(now - 3000, 0)], options('split'))
    assert.equal(silent.waiting, true)
    assert.match(silent.stop[0]?.reason.message ?? '', /no data from slow for 3000 ms/)
    const crawling = stalled(now, [w], [slow, idle], [running(now - 100, 50)], options('split'))
    assert.match(crawling.stop[0]?.reason.message ?? '', /slow sent 50 B\/s over the last 2000 ms while a provider of 1048576 B\/s waited/)
    assert.deepEqual(stalled(now, [w], [slow, idle], [running(now - 100, 5 * MIB)], options('split')).stop, [], 'a fast request keeps its ranges')
    idle.lacks.set(w.hex, ChunkRanges.all())
    assert.deepEqual(stalled(now, [w], [slow, idle], [running(now - 3000, 0)], options('split')).stop, [], 'a waiting provider that lacks them cannot help')
  })
})
