import assert from 'node:assert/strict'
import { assertError, startScheduler } from './harness.js'

type Started = Awaited<ReturnType<typeof startScheduler>>

const PEER_INFO_KEYS = ['ID', 'IP', 'created', 'extra', 'hostName', 'port', 'version']

/** A PeerInfo, field by field. */
function assertPeerInfo (info: any, expected: { ID: string, IP: string, hostName: string, port: number, version: string }): void {
  assert.deepEqual(Object.keys(info).sort(), PEER_INFO_KEYS)
  for (const [key, value] of Object.entries(expected)) assert.equal(info[key], value, key)
  assert.ok(!Number.isNaN(Date.parse(info.created)) && new Date(info.created).toISOString() === info.created, 'created is an ISO date-time')
  assert.equal(typeof info.extra, 'object')
}

describe('scheduler API: /_ping, /version, /metrics, 404, 405, 413', function () {
  let s: Started
  before(async () => { s = await startScheduler({ version: '9.8.7' }) })
  after(async () => { await s.stop() })

  it('GET /_ping: 200 "OK" as JSON', async () => {
    const answer = await s.call('GET', '/_ping')
    assert.equal(answer.status, 200)
    assert.equal(answer.json, 'OK')
    assert.match(String(answer.headers['content-type']), /^application\/json/)
  })

  it('GET /version: 200 DragonflyVersion, field by field', async () => {
    const answer = await s.call('GET', '/version')
    assert.equal(answer.status, 200)
    assert.deepEqual(Object.keys(answer.json).sort(), ['Arch', 'BuildDate', 'GoVersion', 'OS', 'Revision', 'Version'])
    assert.equal(answer.json.Version, '9.8.7')
    assert.equal(answer.json.OS, process.platform)
    assert.equal(answer.json.Arch, process.arch)
    assert.equal(answer.json.GoVersion, process.version)
  })

  it('GET /metrics: 200 Prometheus text with the scheduler\'s series, requests counted by route and status', async () => {
    await s.call('GET', '/_ping')
    const answer = await s.call('GET', '/metrics')
    assert.equal(answer.status, 200)
    assert.match(String(answer.headers['content-type']), /^text\/plain/)
    for (const name of ['verity_scheduler_peers', 'verity_scheduler_tasks', 'verity_scheduler_preheats', 'verity_scheduler_http_request_duration_seconds_bucket', 'process_cpu_seconds_total']) {
      assert.ok(answer.text.includes(name), name)
    }
    assert.match(answer.text, /verity_scheduler_http_requests_total\{route="GET \/_ping",status="200"\} [1-9]/)
    assert.match(answer.text, /verity_scheduler_preheats\{status="WAITING"\} 0/)
  })

  it('an unknown path is 404, a method the path does not take 405 with Allow, both with the Error schema', async () => {
    assertError(await s.call('GET', '/api/v2/peers'), 404)
    const answer = await s.call('PATCH', '/api/v1/peers')
    assertError(answer, 405)
    assert.equal(answer.headers.allow, 'POST, GET')
  })

  it('a body over 64 KiB is 413 (declared or sent), and the server goes on', async () => {
    assertError(await s.call('POST', '/api/v1/peers', 'x'.repeat(64 * 1024 + 1)), 413)
    // Chunked: no length declared, refused once the limit is passed.
    const { request } = await import('node:http')
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${s.url}/api/v1/tasks`, { method: 'POST' }, res => { res.resume(); resolve(res.statusCode as number) })
      req.on('error', reject)
      for (let i = 0; i < 40; i++) req.write('y'.repeat(4096))
      req.end()
    })
    assert.equal(status, 413)
    assert.equal((await s.call('GET', '/_ping')).status, 200)
  })
})

describe('scheduler API: /api/v1/peers', function () {
  let s: Started
  beforeEach(async () => { s = await startScheduler() })
  afterEach(async () => { await s.stop() })

  it('POST: 201 PeerCreateResponse, the ID from host name, IP (and port); registering again keeps the ID and created', async () => {
    const answer = await s.call('POST', '/api/v1/peers', { IP: '10.1.2.3', hostName: 'node-1.example', port: 15001, version: '1.0', extra: { peerId: 'p' } })
    assert.equal(answer.status, 201)
    assert.deepEqual(answer.json, { ID: 'node-1.example-10.1.2.3-15001' })
    const first = (await s.call('GET', `/api/v1/peers/${answer.json.ID}`)).json
    assert.deepEqual((await s.call('POST', '/api/v1/peers', { IP: '10.1.2.3', hostName: 'node-1.example', port: 15001 })).json, answer.json)
    assert.equal((await s.call('GET', `/api/v1/peers/${answer.json.ID}`)).json.created, first.created)
    assert.deepEqual((await s.call('POST', '/api/v1/peers', { IP: '10.1.2.3', hostName: 'h' })).json, { ID: 'h-10.1.2.3' })
  })

  it('POST: 400 naming the field for bad JSON, a body that is not an object, a missing or malformed IP or host name, a port outside 15000-65000', async () => {
    assertError(await s.call('POST', '/api/v1/peers', '{"IP": '), 400, 'body')
    assertError(await s.call('POST', '/api/v1/peers', '[1,2]'), 400, 'body')
    assertError(await s.call('POST', '/api/v1/peers', { hostName: 'a' }), 400, 'IP')
    assertError(await s.call('POST', '/api/v1/peers', { IP: '300.1.1.1', hostName: 'a' }), 400, 'IP')
    assertError(await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1' }), 400, 'hostName')
    assertError(await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'bad_host!' }), 400, 'hostName')
    assertError(await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a', port: 14999 }), 400, 'port')
    assertError(await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a', port: 65001 }), 400, 'port')
    assertError(await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a', port: '15001' }), 400, 'port')
    assertError(await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a', extra: { k: 1 } }), 400, 'extra.k')
    assert.deepEqual((await s.call('GET', '/api/v1/peers?pageSize=10')).json, [], 'nothing was registered')
  })

  it('GET /{id}: 200 PeerInfo field by field; 404 for an unknown id', async () => {
    const { ID } = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.9', hostName: 'nine', port: 20000, version: 'v9' })).json
    const answer = await s.call('GET', `/api/v1/peers/${encodeURIComponent(ID)}`)
    assert.equal(answer.status, 200)
    assertPeerInfo(answer.json, { ID, IP: '10.0.0.9', hostName: 'nine', port: 20000, version: 'v9' })
    assertError(await s.call('GET', '/api/v1/peers/nobody'), 404)
  })

  it('DELETE /{id}: 204 with no body, then 404; 404 for an unknown id', async () => {
    const { ID } = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.9', hostName: 'nine' })).json
    const answer = await s.call('DELETE', `/api/v1/peers/${ID}`)
    assert.equal(answer.status, 204)
    assert.equal(answer.text, '')
    assertError(await s.call('GET', `/api/v1/peers/${ID}`), 404)
    assertError(await s.call('DELETE', `/api/v1/peers/${ID}`), 404)
  })

  it('GET: 200 PeerInfo[]; 400 naming pageSize (missing, 0, -1, not a number, over the limit), pageNum, sortDirect, sortKey', async () => {
    await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a', port: 15000 })
    const answer = await s.call('GET', '/api/v1/peers?pageSize=5')
    assert.equal(answer.status, 200)
    assert.equal(answer.json.length, 1)
    assertPeerInfo(answer.json[0], { ID: 'a-10.0.0.1-15000', IP: '10.0.0.1', hostName: 'a', port: 15000, version: '' })
    for (const query of ['', 'pageSize=0', 'pageSize=-1', 'pageSize=x', 'pageSize=1001', 'pageSize=1.5']) assertError(await s.call('GET', `/api/v1/peers?${query}`), 400, 'pageSize')
    assertError(await s.call('GET', '/api/v1/peers?pageSize=5&pageNum=-1'), 400, 'pageNum')
    assertError(await s.call('GET', '/api/v1/peers?pageSize=5&sortDirect=UP'), 400, 'sortDirect')
    assertError(await s.call('GET', '/api/v1/peers?pageSize=5&sortKey=password'), 400, 'sortKey')
  })
})
