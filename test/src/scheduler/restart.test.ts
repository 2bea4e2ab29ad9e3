import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { startVerity } from '../cli-process.js'
import { call, HASH, MIB } from './harness.js'

const RANGES = ['0-4194303', '4194304-8388607', '8388608-9437183']

describe('verity scheduler: a restart after SIGKILL keeps what it answered for', function () {
  this.timeout(60000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-scheduler-kill-')) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('peers, tasks, pieces held, bans, clients and preheats are all there after the kill', async () => {
    const args = ['scheduler', '--data-dir', dir, '--http', '127.0.0.1:0', '-q']
    const first = await startVerity(args)
    const url = first.line
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const peers: string[] = []
    for (let i = 0; i < 5; i++) peers.push((await call(url, 'POST', '/api/v1/peers', { IP: `10.0.0.${i + 1}`, hostName: `n${i}`, port: 15000 + i, extra: { peerId: `p${i}` } })).json.ID)
    const tasks: string[] = []
    for (let t = 0; t < 3; t++) {
      tasks.push((await call(url, 'POST', '/api/v1/tasks', { rawURL: `http://origin.example/f${t}`, fileLength: 9 * MIB, hash: HASH, peerID: peers[0], cID: `c0-${t}` })).json.ID)
      for (let i = 1; i < 5; i++) await call(url, 'POST', '/api/v1/tasks', { rawURL: `http://origin.example/f${t}`, peerID: peers[i], cID: `c${i}-${t}` })
    }
    // Peer i reports pieces 0..i-1 of task 0 (pieces it verified); peer 4's copy of piece 0 was corrupt.
    for (let i = 1; i < 4; i++) for (const range of RANGES.slice(0, i)) assert.equal((await call(url, 'PUT', `/api/v1/tasks/${tasks[0]}/pieces/${range}`, { clientID: `c${i}-0`, dstPID: peers[0] })).status, 200)
    await call(url, 'POST', `/api/v1/tasks/${tasks[0]}/pieces/${RANGES[0]}/error`, { srcCid: 'c4-0', dstPid: peers[1], errorType: 'FILE_MD5_NOT_MATCH' })
    await call(url, 'DELETE', `/api/v1/tasks/${tasks[2]}`)
    const preheat = (await call(url, 'POST', '/api/v1/preheats', { type: 'file', url: 'http://origin.example/p' })).json.ID
    for (let i = 0; i < 100 && (await call(url, 'GET', `/api/v1/preheats/${preheat}`)).json.status !== 'FAILED'; i++) await delay(20)
    const before = {
      peers: (await call(url, 'GET', '/api/v1/peers?pageSize=100')).json,
      tasks: await Promise.all(tasks.slice(0, 2).map(async id => (await call(url, 'GET', `/api/v1/tasks/${id}`)).json)),
      network: (await call(url, 'POST', '/peer/network', {})).json,
      preheat: (await call(url, 'GET', `/api/v1/preheats/${preheat}`)).json
    }
    assert.equal(before.preheat.status, 'FAILED')
    assert.equal(await first.signal('SIGKILL'), null, 'killed, not stopped')

    const second = await startVerity(args)
    try {
      const again = second.line
      assert.deepEqual((await call(again, 'GET', '/api/v1/peers?pageSize=100')).json, before.peers)
      for (const [i, id] of tasks.slice(0, 2).entries()) assert.deepEqual((await call(again, 'GET', `/api/v1/tasks/${id}`)).json, before.tasks[i])
      assert.equal((await call(again, 'GET', `/api/v1/tasks/${tasks[2]}`)).status, 404, 'the deleted task stays deleted')
      assert.deepEqual((await call(again, 'POST', '/peer/network', {})).json, before.network)
      const held = (await call(again, 'POST', '/peer/network', { urls: ['http://origin.example/f0'] })).json.nodes
        .map((node: any) => [node.basic.ID, node.tasks[0].pieces.length])
      assert.deepEqual(held, [[peers[0], 3], [peers[1], 1], [peers[2], 2], [peers[3], 3]])
      assert.deepEqual((await call(again, 'GET', `/api/v1/preheats/${preheat}`)).json, before.preheat)
      // Clients are kept (c4-0 still names peer 4) and so is the ban: peer 1, idle while the others
      // report a load of 100, is the cheapest source of every piece it holds but the one it is banned for.
      for (const cid of ['c0-0', 'c2-0', 'c3-0']) assert.equal((await call(again, 'POST', '/peer/heartbeat', { cID: cid, load: 100 })).json.needRegister, false)
      const pieces = (await call(again, 'GET', `/api/v1/tasks/${tasks[0]}/pieces?clientID=c4-0&num=3`)).json
      assert.equal(pieces.length, 3)
      assert.ok(!pieces.some((piece: any) => piece.pieceRange === RANGES[0] && piece.pID === peers[1]), JSON.stringify(pieces))
      assert.equal((await call(again, 'GET', `/api/v1/peers/${peers[1]}`)).json.ID, peers[1])
    } finally {
      await second.stop()
    }
  })
})
