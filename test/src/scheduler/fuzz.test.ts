import assert from 'node:assert/strict'
import { HASH, startScheduler } from './harness.js'

type Started = Awaited<ReturnType<typeof startScheduler>>

/** xorshift32: the same 300 bodies every run, so a failure reproduces (the seed is in the message). */
function rng (seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    return x / 2 ** 32
  }
}

const FIELDS = ['IP', 'hostName', 'port', 'version', 'extra', 'rawURL', 'taskURL', 'filter', 'headers', 'fileLength', 'hash', 'peerID', 'cID', 'clientID', 'dstPID', 'pieceStatus', 'srcCid', 'dstPid', 'errorType', 'type', 'url', 'urls', 'load', 'duration', 'success', 'pieceRange', 'pieceResult', 'identifier', 'taskId', 'md5', 'asSeed']
const VALUES: unknown[] = [null, true, -1, 0, 1e300, 15000.5, 70000, '', 'x'.repeat(5000), '300.1.1.1', '0-1', 'a-b', [], [1, 2], {}, { a: 1 }, '\u0000', 'SUCCESS', HASH.slice(1), -0, 'http://', '::1', ['x'.repeat(300)], Array.from({ length: 70 }, () => 'h: v')]

/** One malformed or random body: raw bytes, broken JSON, deep nesting, a non-object, or an object with bad field values. */
function body (next: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T
  switch (Math.floor(next() * 6)) {
    case 0: return Buffer.from(Array.from({ length: Math.floor(next() * 200) }, () => Math.floor(next() * 256))).toString('latin1')
    case 1: return '{"IP": "10.0.0.1", "hostName": '.slice(0, Math.floor(next() * 30))
    case 2: return '['.repeat(1000 + Math.floor(next() * 20000))
    case 3: return JSON.stringify(pick([1, 'text', [{}], null, true]))
    default: {
      const out: Record<string, unknown> = { IP: '10.0.0.1', hostName: 'fuzz', cID: 'c', clientID: 'c', srcCid: 'c', rawURL: 'http://h/f', type: 'file', url: 'http://h/f' }
      for (let i = 0; i < 1 + Math.floor(next() * 3); i++) out[pick(FIELDS)] = pick(VALUES)
      return JSON.stringify(out)
    }
  }
}

describe('scheduler API: 300 malformed and random bodies', function () {
  this.timeout(120000)
  let s: Started
  let task: string
  before(async () => {
    s = await startScheduler()
    const peer = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.9', hostName: 'holder' })).json.ID
    task = (await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/known', fileLength: 5 << 20, hash: HASH, peerID: peer, cID: 'holder' })).json.ID
  })
  after(async () => { await s.stop() })

  it('each is answered 4xx with the Error schema (never 5xx, never a hang), and the scheduler serves on', async () => {
    const next = rng(0x5eed)
    const routes = [
      ['POST', '/api/v1/peers'], ['POST', '/api/v1/preheats'], ['POST', '/api/v1/tasks'], ['PUT', `/api/v1/tasks/${task}`],
      ['GET', `/api/v1/tasks/${task}/pieces?clientID=holder`], ['PUT', `/api/v1/tasks/${task}/pieces/0-4194303`],
      ['POST', `/api/v1/tasks/${task}/pieces/0-4194303/error`], ['POST', '/peer/heartbeat'], ['POST', '/peer/network'],
      ['POST', '/peer/registry'], ['POST', '/task/metrics']
    ] as const
    const statuses = new Map<number, number>()
    for (let i = 0; i < 300; i++) {
      const [method, path] = routes[i % routes.length] as readonly [string, string]
      const sent = body(next)
      const answer = await s.call(method, path, sent)
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
      const ok = answer.status < 300 // a random body may also be a valid one (heartbeat, network, metrics take any object)
      if (!ok) {
        assert.ok(answer.status >= 400 && answer.status < 500, `body ${i} to ${method} ${path}: ${answer.status} ${answer.text.slice(0, 200)}`)
        assert.equal(typeof answer.json?.message, 'string', `body ${i}: the Error schema`)
      }
    }
    assert.ok((statuses.get(400) ?? 0) >= 200, `mostly 400: ${JSON.stringify([...statuses])}`)
    assert.equal((await s.call('GET', '/_ping')).json, 'OK')
    assert.equal((await s.call('POST', '/api/v1/peers', { IP: '10.0.0.10', hostName: 'after' })).status, 201)
    assert.equal((await s.call('GET', `/api/v1/tasks/${task}`)).json.cdnStatus, 'SUCCESS')
  })

  it('random query strings on the GET routes: 4xx or 200, never 5xx', async () => {
    const next = rng(0xabc)
    const junk = (): string => encodeURIComponent(Buffer.from(Array.from({ length: Math.floor(next() * 40) }, () => Math.floor(next() * 256))).toString('latin1'))
    for (let i = 0; i < 100; i++) {
      const path = [`/api/v1/peers?pageSize=${junk()}&sortKey=${junk()}`, `/peer/task?taskId=${task}&srcCid=${junk()}&range=${junk()}&result=SUCCESS`,
        `/peer/piece/suc?taskId=${junk()}&cid=holder&pieceRange=${junk()}`, `/api/v1/tasks/${junk()}`, `/peer/service/down?taskId=${task}&cid=${junk()}x`][i % 5] as string
      const answer = await s.call('GET', path)
      assert.ok(answer.status === 200 || (answer.status >= 400 && answer.status < 500), `${path}: ${answer.status} ${answer.text.slice(0, 200)}`)
    }
    assert.equal((await s.call('GET', '/_ping')).status, 200)
  })
})
