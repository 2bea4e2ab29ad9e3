import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3 } from '../../../store/bao/hash.js'
import { FsStore } from '../../../store/fs-store.js'
import { Origins } from '../../../src/origin/origins.js'
import { randomBytes } from '../../helpers.js'
import { OriginServer } from './origin-server.js'

describe('origins: known tasks, revalidation and the URL index', function () {
  this.timeout(120000)
  let dir: string
  let store: FsStore
  let origins: Origins
  let server: OriginServer

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-origin-known-'))
    store = await FsStore.open(join(dir, 'store'))
    origins = await Origins.create({ store }, { dataDir: dir })
    server = await OriginServer.start()
  })
  afterEach(async () => {
    await origins.close()
    await store.close()
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  async function reopen (): Promise<void> {
    await origins.close()
    origins = await Origins.create({ store }, { dataDir: dir })
  }

  it('a known task returns at once, with no request to the origin, also after a restart', async () => {
    const data = randomBytes(1 << 20, 1)
    const url = server.put('/known', data)
    const first = await origins.import(url)
    const before = { ...server.stats('/known') }
    const again = await origins.import(url)
    assert.deepEqual([again.source, again.fetched], ['known', 0])
    assert.deepEqual(again.hash, first.hash)
    await reopen()
    const restarted = await origins.import(url)
    assert.equal(restarted.source, 'known')
    assert.deepEqual(server.stats('/known'), before, 'no request at all')
  })

  it('revalidate with an unchanged ETag: a conditional HEAD answered 304, no body downloaded', async () => {
    const data = randomBytes(1 << 20, 2)
    const url = server.put('/same', data)
    const first = await origins.import(url)
    const bytes = server.stats('/same').bytes
    const fetchedAt = origins.lookup(first.taskId)?.fetchedAt ?? 0
    const checked = await origins.import(url, { revalidate: true })
    assert.equal(checked.source, 'unchanged')
    assert.deepEqual(checked.hash, first.hash)
    assert.equal(server.stats('/same').notModified, 1)
    assert.equal(server.stats('/same').bytes, bytes, 'no body bytes')
    assert.ok((origins.lookup(first.taskId)?.fetchedAt ?? 0) >= fetchedAt)
  })

  it('revalidate after the file changed at the origin fetches the new version', async () => {
    const url = server.put('/changing', randomBytes(1 << 20, 3))
    const first = await origins.import(url)
    const newer = randomBytes((1 << 20) + 5, 4)
    server.put('/changing', newer)
    const second = await origins.import(url, { revalidate: true })
    assert.equal(second.source, 'origin')
    assert.deepEqual(second.hash, blake3(newer))
    assert.notDeepEqual(second.hash, first.hash)
    assert.deepEqual(origins.lookup(first.taskId)?.hash, blake3(newer))
    assert.deepEqual(await store.tags.get(second.tag), { hash: blake3(newer), format: 'raw' })
  })

  it('a task whose blob was collected is fetched again; a removed tag is set again', async () => {
    const data = randomBytes(100000, 5)
    const url = server.put('/collected', data)
    const first = await origins.import(url)
    await store.tags.delete(first.tag)
    assert.equal((await origins.import(url)).source, 'known')
    assert.deepEqual(await store.tags.get(first.tag), { hash: first.hash, format: 'raw' })
    await store.tags.delete(first.tag)
    await store.gc()
    const again = await origins.import(url)
    assert.equal(again.source, 'origin')
    assert.ok(Buffer.from(await store.getBytes(again.hash)).equals(data))
  })

  it('a damaged index (a torn line, garbage) is rebuilt from its good lines, never a crash', async () => {
    const good = server.put('/good', randomBytes(50000, 6))
    const first = await origins.import(good)
    await origins.close()
    const index = join(dir, 'origins', 'index.jsonl')
    appendFileSync(index, 'this is not json\n{"task":"zz"}\n{"task":"abc","hash":')
    origins = await Origins.create({ store }, { dataDir: dir })
    assert.equal((await origins.import(good)).source, 'known', 'the good line survived')
    assert.deepEqual(readFileSync(index, 'utf8').trim().split('\n').map(line => JSON.parse(line).task), [first.taskId])
    await origins.close()
    writeFileSync(index, Buffer.from([0xff, 0x00, 0x13, 0x37]))
    origins = await Origins.create({ store }, { dataDir: dir })
    assert.equal((await origins.import(good)).source, 'origin', 'nothing left to know: fetched again')
    await reopen()
    assert.equal((await origins.import(good)).source, 'known')
  })
})
