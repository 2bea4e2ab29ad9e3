import assert from 'node:assert/strict'
import type { Backend } from '../../store/backend.js'
import type { Entry } from '../../store/entry.js'
import { Collector } from '../../store/gc.js'
import { toHex } from '../../store/hash-text.js'
import type { HashAndFormat } from '../../store/interface.js'
import { KeyedMutex } from '../../store/keyed-mutex.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { randomBytes } from '../helpers.js'

/** Entries in a map, a commit that waits for the test's go, and a record of what was done. */
function fixture (count: number): {
  collector: Collector, hashes: Uint8Array[], entries: Map<string, Entry>, pins: Set<string>, removed: string[], restored: string[],
  commitStarted: Promise<void>, letCommit: () => void
} {
  const hashes = Array.from({ length: count }, (_, i) => randomBytes(32, 900 + i))
  const entries = new Map(hashes.map(h => [toHex(h), { size: 10, sizeVerified: true, present: ChunkRanges.all(), complete: true, chunkPairs: new Map() } as Entry]))
  const pins = new Set<string>()
  const removed: string[] = []
  const restored: string[] = []
  let started = (): void => {}
  const commitStarted = new Promise<void>(resolve => { started = resolve })
  let go = (): void => {}
  const commit = new Promise<void>(resolve => { go = resolve })
  const backend = {
    async * entries () { for (const pair of [...entries]) yield pair },
    async deleteEntries (hexes: string[]) { started(); await commit; for (const hex of hexes) entries.delete(hex) },
    async getEntry (hex: string) { return entries.get(hex) },
    async putEntry (hex: string, entry: Entry) { entries.set(hex, entry); restored.push(hex) },
    async removeBlob (hex: string) { removed.push(hex) }
  } as unknown as Backend
  const writers = new KeyedMutex()
  const collector = new Collector({
    backend,
    exclusive: (key, fn) => writers.run(key, fn),
    pinned: hex => pins.has(hex),
    store: { status: async () => ({ status: 'absent' }), reader: async function * () {} },
    changed: () => {},
    keptAsTagged: () => []
  })
  return { collector, hashes, entries, pins, removed, restored, commitStarted, letCommit: go }
}

describe('GC: decision, commit and purge (store/gc.ts)', () => {
  const none = async function * (): AsyncGenerator<HashAndFormat> {}

  it('keeps what was tagged before the decision; a pin taken during the commit puts its blob back; a tag then waits for the run', async () => {
    const { collector, hashes, pins, removed, restored, commitStarted, letCommit } = fixture(4)
    const [a, b, c, d] = hashes.map(toHex) as [string, string, string, string]
    const running = collector.gc(none)
    // During the mark: recorded, so kept.
    void collector.keep({ hash: hashes[0] as Uint8Array, format: 'raw' })
    await commitStarted
    // The decision is made: b pinned now is deleted from the index, then put back by the purge.
    pins.add(b)
    // c tagged now: the tag waits until the run is over (c is deleted before the tag is written).
    let tagWaited = false
    const tagging = collector.keep({ hash: hashes[2] as Uint8Array, format: 'raw' }).then(() => { tagWaited = true })
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(tagWaited, false, 'a tag set during the deletions waits for them')
    letCommit()
    const { deleted } = await running
    await tagging
    assert.deepEqual(deleted.sort(), [c, d].sort())
    assert.deepEqual(removed.sort(), [c, d].sort())
    assert.deepEqual(restored, [b])
    assert.ok(!deleted.includes(a))
  })

  it('a pin released before its purge lets the blob go', async () => {
    const { collector, hashes, pins, removed, commitStarted, letCommit } = fixture(1)
    const hex = toHex(hashes[0] as Uint8Array)
    const running = collector.gc(none)
    await commitStarted
    pins.add(hex)
    pins.delete(hex)
    letCommit()
    assert.deepEqual((await running).deleted, [hex])
    assert.deepEqual(removed, [hex])
  })
})
