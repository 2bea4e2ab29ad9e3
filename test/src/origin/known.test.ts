import assert from 'node:assert/strict'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { blake3 } from '../../../store/bao/hash.js'
import { Origins } from '../../../src/origin/origins.js'
import { randomBytes } from '../../helpers.js'
import { originFixture } from './fixture.js'

describe('origins: known tasks, revalidation and the URL index', function () {
  this.timeout(120000)
  const t = originFixture('verity-origin-known-')

  it('a known task returns at once, with no request to the origin, also after a restart', async () => {
    const data = randomBytes(1 << 20, 1)
    const url = t.server.put('/known', data)
    const first = await t.origins.import(url)
    const before = { ...t.server.stats('/known') }
    const again = await t.origins.import(url)
    assert.deepEqual([again.source, again.fetched], ['known', 0])
    assert.deepEqual(again.hash, first.hash)
    await t.reopen()
    const restarted = await t.origins.import(url)
    assert.equal(restarted.source, 'known')
    assert.deepEqual(t.server.stats('/known'), before, 'no request at all')
  })

  it('revalidate with an unchanged ETag: a conditional HEAD answered 304, no body downloaded', async () => {
    const data = randomBytes(1 << 20, 2)
    const url = t.server.put('/same', data)
    const first = await t.origins.import(url)
    const bytes = t.server.stats('/same').bytes
    const fetchedAt = t.origins.lookup(first.taskId)?.fetchedAt ?? 0
    const checked = await t.origins.import(url, { revalidate: true })
    assert.equal(checked.source, 'unchanged')
    assert.deepEqual(checked.hash, first.hash)
    assert.equal(t.server.stats('/same').notModified, 1)
    assert.equal(t.server.stats('/same').bytes, bytes, 'no body bytes')
    assert.ok((t.origins.lookup(first.taskId)?.fetchedAt ?? 0) >= fetchedAt)
  })

  it('revalidate after the file changed at the origin fetches the new version', async () => {
    const url = t.server.put('/changing', randomBytes(1 << 20, 3))
    const first = await t.origins.import(url)
    const newer = randomBytes((1 << 20) + 5, 4)
    t.server.put('/changing', newer)
    const second = await t.origins.import(url, { revalidate: true })
    assert.equal(second.source, 'origin')
    assert.deepEqual(second.hash, blake3(newer))
    assert.notDeepEqual(second.hash, first.hash)
    assert.deepEqual(t.origins.lookup(first.taskId)?.hash, blake3(newer))
    assert.deepEqual(await t.store.tags.get(second.tag), { hash: blake3(newer), format: 'raw' })
  })

  it('a task whose blob was collected is fetched again; a removed tag is set again', async () => {
    const data = randomBytes(100000, 5)
    const url = t.server.put('/collected', data)
    const first = await t.origins.import(url)
    await t.store.tags.delete(first.tag)
    assert.equal((await t.origins.import(url)).source, 'known')
    assert.deepEqual(await t.store.tags.get(first.tag), { hash: first.hash, format: 'raw' })
    await t.store.tags.delete(first.tag)
    await t.store.gc()
    const again = await t.origins.import(url)
    assert.equal(again.source, 'origin')
    assert.ok(Buffer.from(await t.store.getBytes(again.hash)).equals(data))
  })

  it('a damaged index (a torn line, garbage) is rebuilt from its good lines, never a crash', async () => {
    const good = t.server.put('/good', randomBytes(50000, 6))
    const first = await t.origins.import(good)
    await t.origins.close()
    const index = join(t.dir, 'origins', 'index.jsonl')
    appendFileSync(index, 'this is not json\n{"task":"zz"}\n{"task":"abc","hash":')
    t.origins = await Origins.create({ store: t.store }, { dataDir: t.dir })
    assert.equal((await t.origins.import(good)).source, 'known', 'the good line survived')
    assert.deepEqual(readFileSync(index, 'utf8').trim().split('\n').map(line => JSON.parse(line).task), [first.taskId])
    await t.origins.close()
    writeFileSync(index, Buffer.from([0xff, 0x00, 0x13, 0x37]))
    t.origins = await Origins.create({ store: t.store }, { dataDir: t.dir })
    assert.equal((await t.origins.import(good)).source, 'origin', 'nothing left to know: fetched again')
    await t.reopen()
    assert.equal((await t.origins.import(good)).source, 'known')
  })
})
