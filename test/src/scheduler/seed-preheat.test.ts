import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { toHex } from '../../../store/hash-text.js'
import { blake3 } from '../../../store/bao/hash.js'
import { randomBytes } from '../../helpers.js'
import { LOCAL, startVerity } from '../cli-process.js'
import { OriginServer } from '../origin/origin-server.js'
import { call } from './harness.js'

async function settled (url: string, id: string): Promise<any> {
  for (let i = 0; i < 500; i++) {
    const info = (await call(url, 'GET', `/api/v1/preheats/${id}`)).json
    if (info.status === 'SUCCESS' || info.status === 'FAILED') return info
    await delay(20)
  }
  throw new Error(`preheat ${id} did not finish`)
}

describe('verity scheduler --seed: preheats through a real seed peer', function () {
  this.timeout(90000)
  let dir: string
  let server: OriginServer
  let seed: Awaited<ReturnType<typeof startVerity>>
  let scheduler: Awaited<ReturnType<typeof startVerity>>
  let url: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-scheduler-seed-'))
    server = await OriginServer.start()
    seed = await startVerity(['serve', '--seed', '--origin-allow', server.url('/'), '--http', '127.0.0.1:0', '--json', '--data-dir', join(dir, 'seed'), ...LOCAL])
    const seedAddr = (JSON.parse(seed.line) as { addrs: string[] }).addrs.find(addr => addr.includes('/tcp/')) as string
    scheduler = await startVerity(['scheduler', '--seed', seedAddr, '--http', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler'), '-q', ...LOCAL])
    url = scheduler.line
  })
  after(async () => {
    await scheduler.stop()
    await seed.stop()
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a preheat reaches SUCCESS: the seed fetched the file once, and the task names its hash and length', async () => {
    const data = randomBytes(5 << 20, 11)
    const fileUrl = server.put('/big.bin', data)
    const { ID } = (await call(url, 'POST', '/api/v1/preheats', { type: 'file', url: `${fileUrl}?token=abc`, filter: 'token' })).json
    const done = await settled(url, ID)
    assert.equal(done.status, 'SUCCESS', done.errorMsg)
    const task = (await call(url, 'GET', `/api/v1/tasks/${ID}`)).json
    assert.deepEqual([task.cdnStatus, task.fileLength, task.pieceTotal, task.hash], ['SUCCESS', data.length, 2, toHex(blake3(data))])
    assert.equal(server.stats('/big.bin').bytes, data.length, 'the origin served the file once')
    const seeds = (await call(url, 'POST', '/peer/network', { urls: [fileUrl] })).json.nodes
    assert.equal(seeds.length, 1)
    assert.equal(seeds[0].extra.seed, 'true')
    assert.equal(seeds[0].tasks[0].pieces.length, 2, 'the seed holds every piece')
  })

  it('a failing URL reaches FAILED with the origin\'s error', async () => {
    const { ID } = (await call(url, 'POST', '/api/v1/preheats', { type: 'file', url: server.url('/not-there') })).json
    const failed = await settled(url, ID)
    assert.equal(failed.status, 'FAILED')
    assert.match(failed.errorMsg, /^OriginNotFound: /)
    assert.ok(Date.parse(failed.finishTime) >= Date.parse(failed.startTime))
    assert.equal((await call(url, 'GET', `/api/v1/tasks/${ID}`)).json.cdnStatus, 'SOURCE_ERROR')
  })
})
