import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { taskIdOf } from '../../../src/origin/task-id.js'
import type { SeedImporter } from '../../../src/scheduler/interface.js'
import { assertError, HASH, startScheduler } from './harness.js'

type Started = Awaited<ReturnType<typeof startScheduler>>

const SEED = { peerId: '12D3KooWSeed', addrs: ['/ip4/127.0.0.1/tcp/4001'] }
const PREHEAT_INFO_KEYS = ['ID', 'errorMsg', 'finishTime', 'startTime', 'status']

/** A fake seed that holds each import until `release` is called; URLs with "missing" fail as the origin's 404. */
function gatedImporter (): { importer: SeedImporter, release: () => void } {
  let open: () => void = () => {}
  const gate = new Promise<void>(resolve => { open = resolve })
  return {
    importer: async (_seed, url) => {
      await gate
      if (url.includes('missing')) throw Object.assign(new Error(`not found at the origin: ${url}`), { name: 'OriginNotFound' })
      return { hash: HASH, size: 1000 }
    },
    release: () => { open() }
  }
}

async function settled (s: Started, id: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const info = (await s.call('GET', `/api/v1/preheats/${id}`)).json
    if (info.status === 'SUCCESS' || info.status === 'FAILED') return info
    await delay(20)
  }
  throw new Error(`preheat ${id} did not finish`)
}

describe('scheduler API: /api/v1/preheats', function () {
  let s: Started
  let gate: ReturnType<typeof gatedImporter>
  beforeEach(async () => { gate = gatedImporter(); s = await startScheduler({ seeds: [SEED], importer: gate.importer }) })
  afterEach(async () => { gate.release(); await s.stop() })

  it('POST: 200 PreheatCreateResponse; RUNNING while the seed imports, then SUCCESS with start and finish times; the task is then known', async () => {
    const url = 'http://origin.example/f?sig=1'
    const answer = await s.call('POST', '/api/v1/preheats', { type: 'file', url, filter: 'sig' })
    assert.equal(answer.status, 200)
    assert.deepEqual(answer.json, { ID: taskIdOf(url, { filter: ['sig'] }) })
    let running = (await s.call('GET', `/api/v1/preheats/${answer.json.ID}`)).json
    for (let i = 0; i < 100 && running.status === 'WAITING'; i++) {
      await delay(20)
      running = (await s.call('GET', `/api/v1/preheats/${answer.json.ID}`)).json
    }
    assert.deepEqual(Object.keys(running).sort(), PREHEAT_INFO_KEYS)
    assert.equal(running.status, 'RUNNING')
    assert.equal(running.finishTime, '')
    gate.release()
    const done = await settled(s, answer.json.ID)
    assert.equal(done.status, 'SUCCESS')
    assert.ok(Date.parse(done.startTime) <= Date.parse(done.finishTime))
    assert.equal(done.errorMsg, '')
    assert.equal((await s.call('GET', `/api/v1/tasks/${answer.json.ID}`)).json.cdnStatus, 'SUCCESS')
  })

  it('a failing URL ends FAILED with the origin\'s error; a failed preheat may be made again, one that did not fail is 409', async () => {
    gate.release()
    const { ID } = (await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/missing' })).json
    const failed = await settled(s, ID)
    assert.equal(failed.status, 'FAILED')
    assert.match(failed.errorMsg, /^OriginNotFound: not found at the origin: http:\/\/origin.example\/missing/)
    assert.equal((await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/missing' })).status, 200)
    const ok = (await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/ok' })).json.ID
    await settled(s, ok)
    assertError(await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/ok' }), 409)
  })

  it('POST: 400 naming type (missing, unknown, image), url (missing, shorter than 3, not absolute), headers', async () => {
    assertError(await s.call('POST', '/api/v1/preheats', { url: 'http://h/f' }), 400, 'type')
    assertError(await s.call('POST', '/api/v1/preheats', { type: 'zip', url: 'http://h/f' }), 400, 'type')
    assertError(await s.call('POST', '/api/v1/preheats', { type: 'image', url: 'http://h/f' }), 400, 'type')
    assertError(await s.call('POST', '/api/v1/preheats', { type: 'file' }), 400, 'url')
    assertError(await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'ab' }), 400, 'url')
    assertError(await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'relative/path' }), 400, 'url')
    assertError(await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://h/f', headers: ['a'] }), 400, 'headers')
    assert.deepEqual((await s.call('GET', '/api/v1/preheats')).json, [])
  })

  it('GET: 200 PreheatInfo[]; GET /{id} 404 for an unknown id; DELETE /{id}: 200, then 404', async () => {
    const a = (await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/a' })).json.ID
    const b = (await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/b' })).json.ID
    const list = await s.call('GET', '/api/v1/preheats')
    assert.equal(list.status, 200)
    assert.deepEqual(list.json.map((info: any) => info.ID), [a, b])
    for (const info of list.json) assert.deepEqual(Object.keys(info).sort(), PREHEAT_INFO_KEYS)
    assertError(await s.call('GET', '/api/v1/preheats/nope'), 404)
    const deleted = await s.call('DELETE', `/api/v1/preheats/${a}`)
    assert.equal(deleted.status, 200)
    assertError(await s.call('GET', `/api/v1/preheats/${a}`), 404)
    assertError(await s.call('DELETE', `/api/v1/preheats/${a}`), 404)
    assert.deepEqual((await s.call('GET', '/api/v1/preheats')).json.map((info: any) => info.ID), [b])
  })

  it('finished preheats are dropped after preheatKeepMs', async () => {
    gate.release()
    const { ID } = (await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/old' })).json
    await settled(s, ID)
    await s.scheduler.sweep(Date.now() + 24 * 3600 * 1000 + 1000)
    assertError(await s.call('GET', `/api/v1/preheats/${ID}`), 404)
  })
})

describe('scheduler preheats through a seed that registered itself', function () {
  it('a peer registered with extra.seed is the seed a preheat imports through', async () => {
    const seen: Array<{ peerId: string, addrs: string[] }> = []
    const s = await startScheduler({ importer: async seed => { seen.push(seed); return { hash: HASH, size: 10 } } })
    try {
      await s.call('POST', '/api/v1/peers', { IP: '10.0.0.7', hostName: 'seed7', extra: { seed: 'true', peerId: 'p7', addrs: '/ip4/10.0.0.7/tcp/1 /ip4/10.0.0.7/udp/1/quic-v1' } })
      const { ID } = (await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/r' })).json
      assert.equal((await settled(s, ID)).status, 'SUCCESS')
      assert.deepEqual(seen, [{ peerId: 'p7', addrs: ['/ip4/10.0.0.7/tcp/1', '/ip4/10.0.0.7/udp/1/quic-v1'] }])
    } finally {
      await s.stop()
    }
  })
})

describe('scheduler preheats without a seed', function () {
  it('end FAILED saying no seed is known', async () => {
    const s = await startScheduler()
    try {
      const { ID } = (await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/a' })).json
      const failed = await settled(s, ID)
      assert.equal(failed.status, 'FAILED')
      assert.match(failed.errorMsg, /no seed peer is known/)
    } finally {
      await s.stop()
    }
  })
})
