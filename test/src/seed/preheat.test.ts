import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { toHex } from '../../../store/hash-text.js'
import { blake3 } from '../../../store/bao/hash.js'
import { MemStore } from '../../../store/mem-store.js'
import { Origins } from '../../../src/origin/origins.js'
import type { PreheatStatus } from '../../../src/origin/interface.js'
import { randomBytes, rejection } from '../../helpers.js'
import { OriginServer } from '../origin/origin-server.js'

async function settled (origins: Origins, id: string): Promise<PreheatStatus> {
  for (;;) {
    const status = origins.preheatStatus(id) as PreheatStatus
    if (status.state === 'SUCCESS' || status.state === 'FAILED') return status
    await delay(20)
  }
}

describe('origins.preheat: jobs WAITING -> RUNNING -> SUCCESS | FAILED, kept and bounded', function () {
  this.timeout(60000)
  let store: MemStore
  let origins: Origins
  let server: OriginServer

  beforeEach(async () => {
    store = new MemStore()
    origins = await Origins.create({ store }, { preheat: { maxRunning: 1, maxKept: 3 } })
    server = await OriginServer.start()
  })
  afterEach(async () => {
    await origins.close()
    await store.close()
    await server.stop()
  })

  it('runs in the background to SUCCESS; the tasks are then known', async () => {
    const a = randomBytes(200000, 1)
    const b = randomBytes(300000, 2)
    const started = origins.preheat([server.put('/a', a), `${server.put('/b', b)}?t=1`], { filter: ['t'] })
    assert.equal(started.state, 'RUNNING', 'a place was free: it started at once')
    assert.equal(started.items[1]?.url, server.url('/b'))
    const done = await settled(origins, started.id)
    assert.equal(done.state, 'SUCCESS', done.error)
    assert.deepEqual(done.items.map(item => item.hash), [toHex(blake3(a)), toHex(blake3(b))])
    assert.ok(done.finishedAt !== undefined && done.finishedAt >= done.createdAt)
    assert.equal((await origins.import(server.url('/a'))).source, 'known')
  })

  it('FAILED with the first error; the other URLs are still tried; a second job waits its turn', async () => {
    const ok = randomBytes(1 << 20, 3)
    const first = origins.preheat([server.url('/missing'), server.put('/ok', ok, { rate: 4 << 20 })])
    const second = origins.preheat([server.url('/ok')])
    await delay(50)
    assert.equal(origins.preheatStatus(second.id)?.state, 'WAITING', 'one preheat runs at a time here')
    const failed = await settled(origins, first.id)
    assert.equal(failed.state, 'FAILED')
    assert.match(failed.error ?? '', /^OriginNotFound: /)
    assert.equal(failed.items[1]?.hash, toHex(blake3(ok)))
    assert.equal((await settled(origins, second.id)).state, 'SUCCESS')
  })

  it('keeps at most maxKept statuses (finished ones go first), unknown ids are undefined, bad URLs throw', async () => {
    const url = server.put('/tiny', new Uint8Array(10))
    const ids: string[] = []
    for (let i = 0; i < 4; i++) {
      const job = origins.preheat([url])
      ids.push(job.id)
      await settled(origins, job.id)
    }
    assert.equal(origins.preheatStatus(ids[0] as string), undefined, 'the oldest finished one went')
    assert.equal(origins.preheatStatus(ids[3] as string)?.state, 'SUCCESS')
    assert.equal(origins.preheatStatus('nope'), undefined)
    assert.equal((await rejection(() => origins.preheat([]))).name, 'TypeError')
    assert.equal((await rejection(() => origins.preheat(['not a url']))).name, 'TypeError')
  })
})
