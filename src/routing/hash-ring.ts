import { EmptyRing } from './errors.js'
import { ringHash } from './ring-hash.js'

/**
 * Virtual nodes per seed unless told: with 8 seeds and 100,000 random task ids the most-loaded
 * seed holds at most 1.10x the mean (measured in test/src/routing/hash-ring.test.ts; docs/request.md).
 */
export const DEFAULT_VIRTUAL_NODES = 1024

export interface HashRingOptions {
  /**
   * Points each seed has on the ring.
   * @default 1024 (DEFAULT_VIRTUAL_NODES)
   */
  virtualNodes?: number
}

/**
 * A consistent hash ring of seeds (`host:port` for HTTP seeds, the peer id for libp2p seeds),
 * looked up by key (a task id). Each seed has `virtualNodes` points, `ringHash("<seed>#<i>")`; a
 * key belongs to the seed of the first point at or after `ringHash(key)`, wrapping around. Points
 * that tie are ordered by seed id, so the placement depends only on the set of seeds, never on the
 * order they were added in. Adding or removing a seed moves only the keys of its points.
 *
 * A lookup is a binary search over a sorted Uint32Array: no allocation per call.
 */
export class HashRing {
  readonly virtualNodes: number
  private readonly seedPoints = new Map<string, Uint32Array>()
  private seeds: string[] = []
  private points = new Uint32Array(0)
  private owners = new Uint32Array(0)
  /** Per seed index: the lookupN generation that last took it (distinctness without a Set). */
  private taken = new Uint32Array(0)
  private generation = 0

  constructor (seeds: Iterable<string> = [], options: HashRingOptions = {}) {
    this.virtualNodes = virtualNodesArg(options.virtualNodes ?? DEFAULT_VIRTUAL_NODES)
    for (const seed of seeds) this.placeOne(seedArg(seed))
    this.rebuild()
  }

  /** How many seeds the ring holds. */
  get size (): number {
    return this.seeds.length
  }

  /** The seeds, sorted. */
  members (): string[] {
    return [...this.seeds]
  }

  has (seed: string): boolean {
    return this.seedPoints.has(seed)
  }

  /** Adds `seed`; false if it was there already. */
  add (seed: string): boolean {
    if (this.seedPoints.has(seedArg(seed))) return false
    this.placeOne(seed)
    this.rebuild()
    return true
  }

  /** Removes `seed`; false if it was not there. */
  remove (seed: string): boolean {
    if (!this.seedPoints.delete(seedArg(seed))) return false
    this.rebuild()
    return true
  }

  /** The seed `key` belongs to; EmptyRing when the ring holds none. */
  lookup (key: string): string {
    if (this.points.length === 0) throw new EmptyRing()
    return this.seeds[this.owners[this.indexOf(key)] as number] as string
  }

  /**
   * The first `n` distinct seeds met going round the ring from `key`'s point: `lookup(key)`, then
   * the seeds to fail over to, in order. Fewer when the ring holds fewer than `n`.
   */
  lookupN (key: string, n: number): string[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`)
    if (this.points.length === 0) throw new EmptyRing()
    const want = Math.min(n, this.seeds.length)
    const out: string[] = []
    if (++this.generation === 0xffffffff) {
      this.taken.fill(0)
      this.generation = 1
    }
    const total = this.points.length
    for (let i = this.indexOf(key), seen = 0; out.length < want && seen < total; i = (i + 1) % total, seen++) {
      const owner = this.owners[i] as number
      if (this.taken[owner] === this.generation) continue
      this.taken[owner] = this.generation
      out.push(this.seeds[owner] as string)
    }
    return out
  }

  /** The index of the first point at or after the key's hash, 0 past the last one. */
  private indexOf (key: string): number {
    const h = ringHash(key)
    const points = this.points
    let lo = 0
    let hi = points.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((points[mid] as number) < h) lo = mid + 1
      else hi = mid
    }
    return lo === points.length ? 0 : lo
  }

  private placeOne (seed: string): void {
    const own = new Uint32Array(this.virtualNodes)
    for (let i = 0; i < own.length; i++) own[i] = ringHash(`${seed}#${i}`)
    this.seedPoints.set(seed, own)
  }

  /** Sorts every seed's points into one array, ties by seed id (seeds are sorted, the sort is stable). */
  private rebuild (): void {
    this.seeds = [...this.seedPoints.keys()].sort()
    const total = this.seeds.length * this.virtualNodes
    const order: Array<{ point: number, owner: number }> = []
    this.seeds.forEach((seed, owner) => {
      for (const point of this.seedPoints.get(seed) as Uint32Array) order.push({ point, owner })
    })
    order.sort((a, b) => a.point - b.point || a.owner - b.owner)
    this.points = new Uint32Array(total)
    this.owners = new Uint32Array(total)
    order.forEach((entry, i) => { this.points[i] = entry.point; this.owners[i] = entry.owner })
    this.taken = new Uint32Array(this.seeds.length)
    this.generation = 0
  }
}

function virtualNodesArg (value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`virtualNodes must be an integer, got ${String(value)}`)
  if (value < 1 || value > 65536) throw new RangeError(`virtualNodes must be 1 to 65536, got ${value}`)
  return value
}

function seedArg (seed: unknown): string {
  if (typeof seed !== 'string') throw new TypeError(`seed must be a string, got ${typeof seed}`)
  if (seed === '') throw new RangeError('seed must not be empty')
  return seed
}
