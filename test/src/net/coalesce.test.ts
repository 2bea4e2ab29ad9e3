import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { coalesce } from '../../../src/net/coalesce.js'

async function all (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const part of source) out.push(part)
  return out
}

describe('coalesce: parts ready together go as one write, a slow part is not waited for', () => {
  it('16 KiB parts ready back to back: gathered into pieces of at most the limit, bytes in order', async () => {
    async function * ready (): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 40; i++) yield new Uint8Array(16384).fill(i)
    }
    const pieces = await all(coalesce(ready(), 65536))
    assert.deepEqual(pieces.map(p => p.length), [...Array(10).fill(65536)])
    const joined = Buffer.concat(pieces)
    for (let i = 0; i < 40; i++) assert.equal(joined[i * 16384], i)
  })

  it('a part that is not ready by the next turn: what was gathered goes at once; a part larger than the limit goes as it is', async () => {
    const seen: number[] = []
    async function * slow (): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(100)
      yield new Uint8Array(200)
      await delay(50)
      yield new Uint8Array(300000)
      yield new Uint8Array(5)
    }
    const started = performance.now()
    for await (const piece of coalesce(slow(), 65536)) seen.push(piece.length, Math.round(performance.now() - started) >= 40 ? 1 : 0)
    // 300 bytes before the pause (not held for it), then the large part alone, then the last.
    assert.deepEqual(seen, [300, 0, 300000, 1, 5, 1])
  })

  it('a reader that stops early ends the source (its finally runs)', async () => {
    let closed = false
    async function * endless (): AsyncGenerator<Uint8Array> {
      try {
        while (true) { yield new Uint8Array(1000); await delay(1) }
      } finally {
        closed = true
      }
    }
    for await (const _ of coalesce(endless())) break
    await delay(10)
    assert.equal(closed, true)
  })
})
