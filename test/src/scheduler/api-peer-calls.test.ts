import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { taskIdOf } from '../../../src/origin/task-id.js'
import type { SeedImporter } from '../../../src/scheduler/interface.js'
import { assertError, HASH, MIB, startScheduler } from './harness.js'

type Started = Awaited<ReturnType<typeof startScheduler>>

const URL_A = 'http://origin.example/a.bin'
const SEED = { peerId: '12D3KooWSeed', addrs: ['/ip4/127.0.0.1/tcp/4001'] }

/**
 * A fake seed: imports succeed with HASH and 9 MiB unless the URL says "missing" (then the
 * origin's 404), once `gate()` resolves (at once unless a test holds it).
 */
function importer (calls: string[], gate: () => Promise<void>): SeedImporter {
  return async (_seed, url) => {
    calls.push(url)
    await gate()
    if (url.includes('missing')) throw Object.assign(new Error(`not found at the origin: ${url}`), { name: 'OriginNotFound' })
    return { hash: HASH, size: 9 * MIB }
  }
}

async function register (s: Started, cid: string, host: string, ip: string, extra: Record<string, unknown> = {}): Promise<any> {
  return await s.call('POST', '/peer/registry', { IP: ip, hostName: host, port: 15100, cID: cid, rawURL: URL_A, ...extra })
}

async function until (check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i++) await delay(20)
}

describe('scheduler API: /peer/*, /task/metrics', function () {
  let s: Started
  let calls: string[]
  let held: Promise<void>
  beforeEach(async () => {
    calls = []
    held = Promise.resolve()
    s = await startScheduler({ seeds: [SEED], importer: importer(calls, async () => { await held }) })
  })
  afterEach(async () => { await s.stop() })

  it('POST /peer/registry: 200 ResultInfo with the task; the seed imports it once (cdnStatus RUNNING -> SUCCESS); 400 naming cID, IP, port, rawURL, headers', async () => {
    let release: () => void = () => {}
    held = new Promise(resolve => { release = resolve })
    const answer = await register(s, 'c1', 'one', '10.0.0.1')
    assert.equal(answer.status, 200)
    const taskId = taskIdOf(URL_A)
    assert.deepEqual(answer.json, { code: 200, msg: 'success', data: { taskId, fileLength: -1, pieceSize: 4 * MIB, cdnSource: 'supernode', peerId: 'one-10.0.0.1-15100' } })
    await register(s, 'c2', 'two', '10.0.0.2')
    release()
    await until(async () => (await s.call('GET', `/api/v1/tasks/${taskId}`)).json.cdnStatus === 'SUCCESS')
    const task = (await s.call('GET', `/api/v1/tasks/${taskId}`)).json
    assert.deepEqual([task.cdnStatus, task.fileLength, task.pieceTotal, task.hash], ['SUCCESS', 9 * MIB, 3, HASH])
    assert.deepEqual(calls, [URL_A], 'one import for two registrations')
    assertError(await register(s, '', 'x', '10.0.0.3'), 400, 'cID')
    assertError(await register(s, 'c\u0000d', 'x', '10.0.0.3'), 400, 'cID')
    assertError(await s.call('POST', '/peer/registry', { hostName: 'x', cID: 'c', rawURL: URL_A }), 400, 'IP')
    assertError(await register(s, 'c3', 'x', '10.0.0.3', { port: 80 }), 400, 'port')
    assertError(await s.call('POST', '/peer/registry', { IP: '10.0.0.3', hostName: 'x', cID: 'c' }), 400, 'rawURL')
    assertError(await register(s, 'c3', 'x', '10.0.0.3', { headers: ['no colon'] }), 400, 'headers[0]')
  })

  it('GET /peer/task: 602 wait before the import, 601 with pieces from the seed, then from the peers that hold them, 600 when done; 604 for a source error; 400, 404', async () => {
    const taskId = taskIdOf(URL_A)
    let release: () => void = () => {}
    held = new Promise(resolve => { release = resolve })
    await register(s, 'c1', 'one', '10.0.0.1')
    assert.equal((await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c1`)).json.code, 602, 'the seed is importing')
    assert.equal((await s.call('GET', `/api/v1/tasks/${taskId}`)).json.cdnStatus, 'RUNNING')
    release()
    await until(async () => (await s.call('GET', `/api/v1/tasks/${taskId}`)).json.cdnStatus === 'SUCCESS')
    await register(s, 'c2', 'two', '10.0.0.2')
    const first = (await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c1&status=STARTED`)).json
    assert.equal(first.code, 601)
    assert.deepEqual(first.data.map((piece: any) => [piece.pID, piece.pieceRange]), [
      [`seed-${SEED.peerId}`, '0-4194303'], [`seed-${SEED.peerId}`, '4194304-8388607'], [`seed-${SEED.peerId}`, '8388608-9437183']])
    assert.equal((await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c2`)).json.code, 602, 'every piece is on its way to c1: c2 waits for it, not the seed')
    const seed = `seed-${SEED.peerId}`
    const report = await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c1&status=RUNNING&range=0-4194303&result=SUCCESS&dstCid=${seed}`)
    assert.equal(report.json.code, 602)
    const second = (await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c2`)).json
    assert.deepEqual(second.data.map((piece: any) => [piece.pID, piece.pieceRange]), [['one-10.0.0.1-15100', '0-4194303']], 'from c1, not the seed')
    for (const range of ['4194304-8388607', '8388608-9437183']) await s.call('GET', `/peer/piece/suc?taskId=${taskId}&cid=c1&dstCid=${seed}&pieceRange=${range}`)
    assert.equal((await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c1`)).json.code, 600)
    assert.deepEqual((await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c1&status=FINISHED&result=SUCCESS`)).json, { code: 600, msg: 'finished' })
    assertError(await s.call('GET', `/peer/task?taskId=${taskId}`), 400, 'srcCid')
    assertError(await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c1&status=DONE`), 400, 'status')
    assertError(await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=c1&range=1-2&result=SUCCESS`), 400, 'range')
    assertError(await s.call('GET', `/peer/task?taskId=nope&srcCid=c1`), 404)
    assertError(await s.call('GET', `/peer/task?taskId=${taskId}&srcCid=nobody`), 404)
    await s.call('POST', '/peer/registry', { IP: '10.0.0.1', hostName: 'one', port: 15100, cID: 'm1', rawURL: 'http://origin.example/missing' })
    const missing = taskIdOf('http://origin.example/missing')
    await until(async () => (await s.call('GET', `/api/v1/tasks/${missing}`)).json.cdnStatus === 'SOURCE_ERROR')
    const failed = (await s.call('GET', `/peer/task?taskId=${missing}&srcCid=m1`)).json
    assert.equal(failed.code, 604)
    assert.match(failed.msg, /^OriginNotFound: not found at the origin/)
  })

  it('GET /peer/piece/suc: 200 ResultInfo, the piece is then the downloader\'s; 400 naming pieceRange, cid; 404', async () => {
    const taskId = taskIdOf(URL_A)
    await register(s, 'c1', 'one', '10.0.0.1')
    await until(async () => (await s.call('GET', `/api/v1/tasks/${taskId}`)).json.cdnStatus === 'SUCCESS')
    const answer = await s.call('GET', `/peer/piece/suc?taskId=${taskId}&cid=c1&pieceRange=4194304-8388607`)
    assert.deepEqual([answer.status, answer.json], [200, { code: 200, msg: 'success' }])
    const node = (await s.call('POST', '/peer/network', { urls: [URL_A] })).json.nodes.find((n: any) => n.basic.ID === 'one-10.0.0.1-15100')
    assert.deepEqual(node.tasks[0].pieces.map((piece: any) => piece.pieceRange), ['4194304-8388607'])
    assertError(await s.call('GET', `/peer/piece/suc?taskId=${taskId}&cid=c1`), 400, 'pieceRange')
    assertError(await s.call('GET', `/peer/piece/suc?taskId=${taskId}&pieceRange=0-4194303`), 400, 'cid')
    assertError(await s.call('GET', `/peer/piece/suc?taskId=${taskId}&cid=c1&pieceRange=0-5`), 400, 'pieceRange')
    assertError(await s.call('GET', `/peer/piece/suc?taskId=nope&cid=c1&pieceRange=0-4194303`), 404)
  })

  it('POST /peer/heartbeat: 200 HeartBeatResponse (needRegister for an unknown peer, the seed\'s tasks, a version per start); 400 naming port, IP', async () => {
    const taskId = taskIdOf(URL_A)
    await register(s, 'c1', 'one', '10.0.0.1')
    const answer = await s.call('POST', '/peer/heartbeat', { cID: 'c1', IP: '10.0.0.1', port: 15100, load: 7 })
    assert.equal(answer.status, 200)
    assert.deepEqual(Object.keys(answer.json).sort(), ['needRegister', 'seedTaskIDs', 'version'])
    assert.deepEqual([answer.json.needRegister, answer.json.seedTaskIDs, answer.json.version], [false, [], s.scheduler.boot])
    assert.equal(s.scheduler.ctx.state.peers.get('one-10.0.0.1-15100')?.load, 7)
    assert.equal((await s.call('POST', '/peer/heartbeat', { cID: 'stranger' })).json.needRegister, true)
    await until(async () => (await s.call('GET', `/api/v1/tasks/${taskId}`)).json.cdnStatus === 'SUCCESS')
    assert.deepEqual((await s.call('POST', '/peer/heartbeat', { cID: `seed-${SEED.peerId}` })).json.seedTaskIDs, [taskId])
    assertError(await s.call('POST', '/peer/heartbeat', { port: 1 }), 400, 'port')
    assertError(await s.call('POST', '/peer/heartbeat', { IP: 'x' }), 400, 'IP')
  })

  it('POST /peer/network: 200 NetworkInfoFetchResponse, nodes filtered by URL, each with PeerInfo, extra, load and its pieces; 400 naming urls', async () => {
    const taskId = taskIdOf(URL_A)
    await register(s, 'c1', 'one', '10.0.0.1')
    await until(async () => (await s.call('GET', `/api/v1/tasks/${taskId}`)).json.cdnStatus === 'SUCCESS')
    const answer = await s.call('POST', '/peer/network', { urls: [URL_A] })
    assert.equal(answer.status, 200)
    const [node] = answer.json.nodes
    assert.equal(answer.json.nodes.length, 1, 'only the seed holds pieces')
    assert.deepEqual(Object.keys(node).sort(), ['basic', 'extra', 'load', 'tasks'])
    assert.equal(node.basic.ID, `seed-${SEED.peerId}`)
    assert.deepEqual(node.extra, { peerId: SEED.peerId, addrs: SEED.addrs[0], seed: 'true', pinned: 'true' })
    assert.equal(node.tasks[0].task.ID, taskId)
    assert.equal(node.tasks[0].pieces.length, 3)
    assert.deepEqual((await s.call('POST', '/peer/network', { urls: ['http://other.example/'] })).json, { nodes: [] })
    assertError(await s.call('POST', '/peer/network', { urls: 'x' }), 400, 'urls')
  })

  it('GET /peer/service/down: 200, the peer is gone with its pieces at once; 404 after; 400 naming cid', async () => {
    const taskId = taskIdOf(URL_A)
    await register(s, 'c1', 'one', '10.0.0.1')
    await until(async () => (await s.call('GET', `/api/v1/tasks/${taskId}`)).json.cdnStatus === 'SUCCESS')
    await s.call('GET', `/peer/piece/suc?taskId=${taskId}&cid=c1&pieceRange=0-4194303`)
    const answer = await s.call('GET', `/peer/service/down?taskId=${taskId}&cid=c1`)
    assert.deepEqual([answer.status, answer.json], [200, { code: 200, msg: 'success' }])
    assertError(await s.call('GET', '/api/v1/peers/one-10.0.0.1-15100'), 404)
    assert.equal((await s.call('POST', '/peer/network', {})).json.nodes.length, 1, 'the seed only')
    assertError(await s.call('GET', `/peer/service/down?taskId=${taskId}&cid=c1`), 404)
    assertError(await s.call('GET', `/peer/service/down?taskId=${taskId}`), 400, 'cid')
  })

  it('POST /task/metrics: 200 ResultInfo, counted in /metrics; 400 naming port, duration', async () => {
    const answer = await s.call('POST', '/task/metrics', { cID: 'c1', IP: '10.0.0.1', port: 15100, duration: 1.5, fileLength: 10, success: true, taskId: 't', callSystem: 'ci', backsourceReason: '' })
    assert.deepEqual([answer.status, answer.json], [200, { code: 200, msg: 'success' }])
    assert.match((await s.call('GET', '/metrics')).text, /verity_scheduler_client_downloads_total\{success="true"\} 1/)
    assertError(await s.call('POST', '/task/metrics', { port: 70000 }), 400, 'port')
    assertError(await s.call('POST', '/task/metrics', { duration: 'long' }), 400, 'duration')
  })
})
