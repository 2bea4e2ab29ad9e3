import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { blake3 } from '../../../store/bao/hash.js'
import { MemStore } from '../../../store/mem-store.js'
import { filesOf } from '../../../src/cli/files.js'
import { Origins } from '../../../src/origin/origins.js'
import type { OriginImportProgress } from '../../../src/origin/interface.js'
import { randomBytes } from '../../helpers.js'
import { originFixture } from './fixture.js'

describe('origins: importing files and directories (file:, http:)', function () {
  this.timeout(120000)
  const t = originFixture('verity-origin-', { sub: 'data' })

  it('file: a file of several pieces, tagged, in the index, byte for byte', async () => {
    const data = randomBytes((5 << 20) + 12345, 1)
    const path = join(t.dir, 'input.bin')
    writeFileSync(path, data)
    const events: OriginImportProgress[] = []
    const result = await t.origins.import(pathToFileURL(path), { pieceSize: 1 << 20, onProgress: event => events.push(event) })
    assert.deepEqual(result.hash, blake3(data))
    assert.equal(result.size, data.length)
    assert.equal(result.format, 'raw')
    assert.equal(result.source, 'origin')
    assert.equal(result.fetched, data.length)
    assert.equal(result.tag, `origin:${result.taskId}`)
    assert.ok(Buffer.from(await t.store.getBytes(result.hash)).equals(data))
    assert.deepEqual(await t.store.tags.get(result.tag), { hash: result.hash, format: 'raw' })
    assert.equal(t.origins.lookup(result.taskId)?.size, data.length)
    assert.equal(events[0]?.type, 'origin:head')
    assert.equal(events.filter(e => e.type === 'origin:piece').length, 6)
    assert.equal(events.at(-1)?.type, 'origin:done')
    // Adopted, not left behind.
    assert.deepEqual(readdirSync(join(t.dir, 'data', 'origins', 'staging')), [])
  })

  it('file: a nested directory (an empty file among them) becomes a collection, as verity add names it', async () => {
    const root = join(t.dir, 'tree')
    const files: Record<string, Uint8Array> = {
      'a.txt': randomBytes(1000, 2),
      'empty.bin': new Uint8Array(0),
      'sub/b.bin': randomBytes(300000, 3),
      'sub.txt': randomBytes(10, 8),
      'sub/deeper/c d#e.bin': randomBytes(17000, 4)
    }
    for (const [name, bytes] of Object.entries(files)) {
      mkdirSync(join(root, name, '..'), { recursive: true })
      writeFileSync(join(root, name), bytes)
    }
    const result = await t.origins.import(pathToFileURL(root))
    assert.equal(result.format, 'hashseq')
    assert.equal(result.size, Object.values(files).reduce((sum, bytes) => sum + bytes.length, 0))
    const entries = await t.store.readCollection(result.hash)
    assert.deepEqual(entries.map(e => e.name).sort(), Object.keys(files).map(name => `tree/${name}`).sort())
    for (const entry of entries) {
      assert.ok(Buffer.from(await t.store.getBytes(entry.hash)).equals(files[entry.name.slice('tree/'.length)] as Uint8Array), entry.name)
    }
    // The same collection as `verity add <t.dir>` makes: names and order (sub/ before sub.txt) from its own walk.
    const added = []
    for (const file of await filesOf(root)) added.push({ name: file.name, hash: (await t.store.addFile(file.path)).hash })
    assert.deepEqual(entries.map(e => e.name), added.map(e => e.name))
    assert.deepEqual((await t.store.addCollection(added)).hash, result.hash)
    assert.deepEqual(await t.store.tags.get(result.tag), { hash: result.hash, format: 'hashseq' })
  })

  it('http: a file from a real HTTP origin, byte for byte, fetched once', async () => {
    const data = randomBytes((3 << 20) + 77, 5)
    const url = t.server.put('/file.bin', data)
    const result = await t.origins.import(url, { pieceSize: 1 << 20 })
    assert.deepEqual(result.hash, blake3(data))
    assert.ok(Buffer.from(await t.store.getBytes(result.hash)).equals(data))
    const served = t.server.stats('/file.bin')
    assert.equal(served.bytes, data.length)
    assert.equal(served.gets, 4)
  })

  it('http: an empty file and a file of one byte', async () => {
    for (const size of [0, 1]) {
      const data = randomBytes(size, 6)
      const result = await t.origins.import(t.server.put(`/small-${size}`, data))
      assert.deepEqual(result.hash, blake3(data))
      assert.equal((await t.store.status(result.hash)).status, 'complete')
    }
  })

  it('in memory: a node without a data directory imports through a temporary staging directory', async () => {
    const mem = new MemStore()
    const memOrigins = await Origins.create({ store: mem })
    const data = randomBytes(2 << 20, 7)
    const result = await memOrigins.import(t.server.put('/mem.bin', data))
    assert.ok(Buffer.from(await mem.getBytes(result.hash)).equals(data))
    assert.equal(memOrigins.lookup(result.taskId)?.size, data.length)
    await memOrigins.close()
    await mem.close()
  })
})
