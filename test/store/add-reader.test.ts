import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readAhead } from '../../store/add-reader.js'
import { defaultCore } from '../../store/bao/core.js'
import { randomBytes, rejection } from '../helpers.js'

describe('readAhead (store/add-reader.ts)', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'verity-read-ahead-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('gives every byte in order, each chunk unchanged while the consumer holds it (the HeldChunks contract)', async () => {
    for (const [size, step, depth, held] of [[0, 16, 2, 2], [1, 16, 4, 4], [16, 16, 2, 2], [1000, 16, 4, 4], [1000, 64, 1, 2], [1000, 7, 3, 5]] as const) {
      const data = randomBytes(size, size + step)
      const file = join(dir, `f${size}-${step}`)
      writeFileSync(file, data)
      const handle = await open(file, 'r')
      try {
        const chunks = readAhead(handle, size, { step, depth, held })
        assert.equal(chunks.held, held)
        const taken: Array<{ chunk: Uint8Array, copy: Uint8Array }> = []
        for await (const chunk of chunks) {
          // The `held - 1` chunks taken before this one are still as they were read.
          for (const { chunk: earlier, copy } of taken.slice(-(held - 1))) assert.deepEqual(earlier, copy)
          taken.push({ chunk, copy: chunk.slice() })
        }
        const all = Buffer.concat(taken.map(t => t.copy))
        assert.ok(all.equals(Buffer.from(data)), `size ${size}, step ${step}`)
        assert.ok(taken.every(t => t.chunk.length <= step))
        chunks.release()
      } finally {
        await handle.close()
      }
    }
  })

  it('fails on a file that shrank, and a consumer that stops early leaves no read running', async () => {
    const file = join(dir, 'shrinks')
    writeFileSync(file, randomBytes(1000, 5))
    const handle = await open(file, 'r')
    try {
      truncateSync(file, 500)
      const shrank = readAhead(handle, 1000, { step: 64 })
      const err = await rejection(async () => { for await (const chunk of shrank) assert.ok(chunk.length > 0) })
      assert.match(err.message, /file shrank while being added/)
      shrank.release()
      const stopped = readAhead(handle, 500, { step: 64, depth: 4 })
      for await (const chunk of stopped) {
        assert.equal(chunk.length, 64)
        break
      }
      stopped.release()
      const lent = defaultCore().borrowInput?.(1, 1)
      if (defaultCore().name === 'wasm-simd') assert.ok(lent !== undefined, 'released buffers go back to the core')
      lent?.release()
    } finally {
      await handle.close()
    }
  })
})
