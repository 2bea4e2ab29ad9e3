import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { DEFAULT_VIRTUAL_NODES, EmptyRing, HashRing, ringHash } from '../../../src/routing/index.js'

/** `count` task ids as the SDK makes them (hex SHA-256), the same on every run. */
function taskIds (count: number, salt = ''): string[] {
  return Array.from({ length: count }, (_, i) => createHash('sha256').update(`${salt}task-${i}`).digest('hex'))
}

function loads (ring: HashRing, keys: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const key of keys) counts.set(ring.lookup(key), (counts.get(ring.lookup(key)) ?? 0) + 1)
  return counts
}

const KEYS = taskIds(100000)
const HTTP_SEEDS = Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1}:65001`)
/** Seed sets of both kinds: HTTP host:port, libp2p peer ids. */
const SEED_SETS = [
  HTTP_SEEDS,
  Array.from({ length: 8 }, (_, i) => `seed-${i}.verity.svc:8080`),
  Array.from({ length: 8 }, (_, i) => `12D3KooW${createHash('sha256').update(`peer ${i}`).digest('base64url').slice(0, 44)}`),
  Array.from({ length: 8 }, (_, i) => `192.168.${i}.${(i * 37) % 250}:${4000 + i}`)
]

describe('routing: the hash ring', () => {
  it('ringHash is stable: kept vectors, and equal to an independent BigInt FNV-1a + fmix32', () => {
    assert.equal(ringHash(''), 2872998923)
    assert.equal(ringHash('a'), 444641715)
    assert.equal(ringHash('10.0.0.1:65001#0'), 3611107555)
    fc.assert(fc.property(fc.string({ unit: 'binary' }), text => { assert.equal(ringHash(text), referenceHash(text)) }), { seed: 17, numRuns: 500 })
  })

  it(`8 seeds, 100,000 task ids, ${DEFAULT_VIRTUAL_NODES} virtual nodes: the most-loaded seed holds <= 1.10x the mean, for each seed set`, () => {
    for (const seeds of SEED_SETS) {
      const counts = loads(new HashRing(seeds), KEYS)
      assert.equal(counts.size, 8)
      const ratio = Math.max(...counts.values()) / (KEYS.length / 8)
      assert.ok(ratio <= 1.10, `${seeds[0] ?? ''}...: ${ratio}`)
    }
  })

  it('removing a seed remaps only the keys it held', () => {
    const ring = new HashRing(HTTP_SEEDS)
    const before = KEYS.map(key => ring.lookup(key))
    ring.remove(HTTP_SEEDS[3] as string)
    KEYS.forEach((key, i) => {
      if (before[i] !== HTTP_SEEDS[3]) assert.equal(ring.lookup(key), before[i])
      else assert.notEqual(ring.lookup(key), HTTP_SEEDS[3])
    })
  })

  it('adding a ninth seed moves <= 1.3/9 of the keys, all of them to the ninth', () => {
    const ring = new HashRing(HTTP_SEEDS)
    const before = KEYS.map(key => ring.lookup(key))
    ring.add('10.0.0.9:65001')
    let moved = 0
    KEYS.forEach((key, i) => {
      const now = ring.lookup(key)
      if (now !== before[i]) {
        moved++
        assert.equal(now, '10.0.0.9:65001')
      }
    })
    assert.ok(moved <= KEYS.length * 1.3 / 9, `${moved} moved`)
    assert.ok(moved > 0)
  })

  it('property: removing any seed moves only its keys; the placement does not depend on the order seeds were added in', () => {
    const seedSet = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 6 })
    fc.assert(fc.property(seedSet, fc.nat(), fc.array(fc.string(), { minLength: 1, maxLength: 40 }), (seeds, pick, keys) => {
      const ring = new HashRing(seeds, { virtualNodes: 16 })
      const reversed = new HashRing([...seeds].reverse(), { virtualNodes: 16 })
      const gone = seeds[pick % seeds.length] as string
      const before = keys.map(key => ring.lookup(key))
      assert.deepEqual(keys.map(key => reversed.lookup(key)), before)
      ring.remove(gone)
      keys.forEach((key, i) => { if (before[i] !== gone) assert.equal(ring.lookup(key), before[i]) })
      ring.add(gone)
      assert.deepEqual(keys.map(key => ring.lookup(key)), before)
    }), { seed: 1729, numRuns: 200 })
  })

  it('lookupN: distinct seeds, the first is lookup, then the seed each key moves to when its seed goes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 12 }), fc.string(), (count, n, key) => {
      const seeds = Array.from({ length: count }, (_, i) => `s${i}:1`)
      const ring = new HashRing(seeds, { virtualNodes: 8 })
      const order = ring.lookupN(key, n)
      assert.equal(order.length, Math.min(n, count))
      assert.equal(new Set(order).size, order.length)
      if (n > 0) assert.equal(order[0], ring.lookup(key))
      if (order.length >= 2) {
        ring.remove(order[0] as string)
        assert.equal(ring.lookup(key), order[1])
      }
    }), { seed: 4242, numRuns: 300 })
  })

  it('an empty ring throws EmptyRing; so does one emptied', () => {
    assert.throws(() => new HashRing().lookup('k'), (err: Error) => err.name === 'EmptyRing' && err instanceof EmptyRing)
    assert.throws(() => new HashRing().lookupN('k', 2), { name: 'EmptyRing' })
    const ring = new HashRing(['a:1'])
    assert.equal(ring.lookup('k'), 'a:1')
    assert.equal(ring.remove('a:1'), true)
    assert.equal(ring.remove('a:1'), false)
    assert.throws(() => ring.lookup('k'), { name: 'EmptyRing' })
  })

  it('add, remove, has, members, size; bad arguments are named', () => {
    const ring = new HashRing(['b:2', 'a:1'], { virtualNodes: 4 })
    assert.equal(ring.add('a:1'), false)
    assert.equal(ring.add('c:3'), true)
    assert.deepEqual(ring.members(), ['a:1', 'b:2', 'c:3'])
    assert.equal(ring.size, 3)
    assert.equal(ring.has('b:2'), true)
    assert.throws(() => new HashRing([], { virtualNodes: 0 }), { name: 'RangeError', message: /virtualNodes must be 1 to 65536, got 0/ })
    assert.throws(() => new HashRing([], { virtualNodes: 1.5 }), { name: 'TypeError', message: /virtualNodes must be an integer, got 1.5/ })
    assert.throws(() => ring.add(''), { name: 'RangeError', message: /seed must not be empty/ })
    assert.throws(() => ring.add(7 as unknown as string), { name: 'TypeError', message: /seed must be a string, got number/ })
    assert.throws(() => ring.lookupN('k', -1), { name: 'RangeError', message: /n must be a non-negative integer, got -1/ })
  })
})

/** FNV-1a 32 over UTF-16 code units then MurmurHash3's fmix32, in BigInt: the reference ringHash must equal. */
function referenceHash (text: string): number {
  const M = 0xffffffffn
  let h = 0x811c9dc5n
  for (let i = 0; i < text.length; i++) h = ((h ^ BigInt(text.charCodeAt(i))) * 0x01000193n) & M
  h ^= h >> 16n
  h = (h * 0x85ebca6bn) & M
  h ^= h >> 13n
  h = (h * 0xc2b2ae35n) & M
  h ^= h >> 16n
  return Number(h)
}
