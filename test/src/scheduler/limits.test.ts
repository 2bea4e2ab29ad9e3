import assert from 'node:assert/strict'
import { assertError, HASH, MIB, startScheduler } from './harness.js'

describe('scheduler bounds: what a client may make it keep or send', function () {
  it('peers, tasks and preheats past their limits are 429; lists past 64 entries 400; num capped; pieces per task bounded', async () => {
    const s = await startScheduler({ limits: { maxPeers: 2, maxTasks: 2, maxPreheats: 1, maxPiecesPerAnswer: 3, maxPieceTotal: 100 } })
    try {
      const a = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a' })).json.ID
      await s.call('POST', '/api/v1/peers', { IP: '10.0.0.2', hostName: 'b', extra: { seed: 'true', peerId: 'p', addrs: '' } })
      assertError(await s.call('POST', '/api/v1/peers', { IP: '10.0.0.3', hostName: 'c' }), 429)
      assert.equal((await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a', version: 'again' })).status, 201, 'registering again is no new peer')
      const task = (await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/1', fileLength: 40 * MIB, hash: HASH, peerID: a })).json.ID
      assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/big', fileLength: 101 * 15 * MIB, hash: HASH }), 400, 'fileLength')
      await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/2' })
      assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/3' }), 429)
      assert.equal((await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/1' })).status, 201, 'joining a task is no new task')
      assert.equal((await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://h/p1' })).status, 200)
      assertError(await s.call('POST', '/api/v1/preheats', { type: 'file', url: 'http://h/p2' }), 429)
      assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/1', filter: Array.from({ length: 65 }, (_, i) => `p${i}`) }), 400, 'filter')
      assertError(await s.call('POST', '/peer/network', { urls: Array.from({ length: 65 }, (_, i) => `http://h/${i}`) }), 400, 'urls')
      const headers = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, 'v']))
      assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/1', headers }), 400, 'headers')
      assertError(await s.call('GET', `/api/v1/peers?pageSize=5&${Array.from({ length: 65 }, () => 'sortKey=ID').join('&')}`), 400, 'sortKey')
      const pieces = (await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=${encodeURIComponent('b-10.0.0.2')}&num=1000`)).json
      assert.equal(pieces.length, 3, 'num is capped at maxPiecesPerAnswer')
    } finally {
      await s.stop()
    }
  })

  it('a task whose file turns out to be another (a new hash) forgets the pieces reported of the old one', async () => {
    const s = await startScheduler()
    try {
      const a = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a' })).json.ID
      const b = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.2', hostName: 'b' })).json.ID
      const task = (await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', fileLength: 8 * MIB, hash: HASH, peerID: a, cID: 'ca' })).json.ID
      await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', peerID: b, cID: 'cb' })
      await s.call('PUT', `/api/v1/tasks/${task}/pieces/0-4194303`, { clientID: 'cb', dstPID: a })
      // The task failed and is made again from another file: no holder of the old one is named.
      s.scheduler.ctx.state.tasks.get(task)!.cdnStatus = 'FAILED'
      await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', fileLength: 9 * MIB, hash: 'cd'.repeat(32), peerID: b })
      const nodes = (await s.call('POST', '/peer/network', {})).json.nodes
      assert.deepEqual(nodes.map((node: any) => [node.basic.ID, node.tasks[0].pieces.length]), [[b, 3]])
    } finally {
      await s.stop()
    }
  })
})

describe('scheduler state directory', function () {
  it('a second scheduler on the same directory is SchedulerLocked', async () => {
    const { Scheduler } = await import('../../../src/scheduler/scheduler.js')
    const s = await startScheduler()
    try {
      const err = await Scheduler.open({ location: `${s.dir}/scheduler` }).then(() => undefined, (e: Error) => e)
      assert.equal(err?.name, 'SchedulerLocked')
    } finally {
      await s.stop()
    }
  })
})

describe('scheduler POST /peer/network bound', function () {
  it('answers at most 10,000 pieces, however many are held', async () => {
    const s = await startScheduler()
    try {
      // 3 peers each holding 2 tasks of 2,000 pieces of 15 MiB: 12,000 pieces held.
      const peers = []
      for (let i = 0; i < 3; i++) peers.push((await s.call('POST', '/api/v1/peers', { IP: `10.0.0.${i + 1}`, hostName: `n${i}` })).json.ID)
      for (let t = 0; t < 2; t++) {
        const id = (await s.call('POST', '/api/v1/tasks', { rawURL: `http://h/${t}`, fileLength: 2000 * 15 * MIB, hash: HASH, peerID: peers[0] })).json.ID
        for (const peer of peers.slice(1)) await s.call('PUT', `/api/v1/tasks/${id}`, { peerID: peer })
      }
      const answer = await s.call('POST', '/peer/network', {})
      const count = answer.json.nodes.reduce((n: number, node: any) => n + node.tasks.reduce((m: number, task: any) => m + task.pieces.length, 0), 0)
      assert.equal(count, 10000)
      assert.deepEqual(answer.json.nodes.map((node: any) => node.tasks.map((task: any) => task.pieces.length)), [[2000, 2000], [2000, 2000], [2000]])
    } finally {
      await s.stop()
    }
  })
})

describe('fetchThroughScheduler against a scheduler that hands out nothing', function () {
  it('fails with SchedulerRefused after stallMs, and says service/down', async () => {
    const { createNode } = await import('../../../src/node/create-node.js')
    const { fetchThroughScheduler } = await import('../../../src/scheduler/fetch-task.js')
    // A task known by its hash that nobody holds: there is never a piece to hand out.
    const s = await startScheduler()
    const node = await createNode()
    try {
      await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/stuck', fileLength: MIB, hash: HASH })
      const started = Date.now()
      const err = await fetchThroughScheduler(node, s.url, 'http://h/stuck', { stallMs: 500 }).then(() => undefined, (e: Error) => e)
      assert.equal(err?.name, 'SchedulerRefused')
      assert.match(err?.message ?? '', /no piece verified for 500 ms \(0 of 1 here\)/)
      assert.ok(Date.now() - started < 5000)
      assert.equal((await s.call('GET', '/api/v1/peers?pageSize=10')).json.length, 0, 'it said service/down')
    } finally {
      await node.stop()
      await s.stop()
    }
  })
})

describe('fetchThroughScheduler: a piece handed out again before its failed fetch has ended here', function () {
  this.timeout(60000)

  it('is fetched from the new source (it used to be dropped, and held from everyone until the assignment timeout)', async () => {
    const { createServer } = await import('node:http')
    const { createNode } = await import('../../../src/node/create-node.js')
    const { fetchThroughScheduler } = await import('../../../src/scheduler/fetch-task.js')
    const { MemStore } = await import('../../../store/mem-store.js')
    const { toHex } = await import('../../../store/hash-text.js')
    const { corrupting } = await import('../node/corrupting-store.js')
    const { randomBytes } = await import('../../helpers.js')
    const data = randomBytes(MIB, 31)
    const good = await createNode()
    const bad = await createNode({ store: corrupting(new MemStore()) })
    const client = await createNode()
    const { hash } = await good.blobs.addBytes(data)
    await bad.blobs.addBytes(data)
    const range = `0-${MIB - 1}`
    const info = (id: string, node: typeof good): unknown => ({ pID: id, pieceRange: range, extra: { peerId: node.peerId, addrs: node.addrs().map(String).join(' ') } })
    // A scheduler scripted for the race: the piece from `bad` first; once the client reports it
    // failed, the same piece from `good`; the report's own answer goes back only once the client
    // has asked again after that (so it has taken the piece in while its failed fetch still ran).
    const seen: string[] = []
    let handed = 0
    let reported = false
    let releaseReport: (() => void) | undefined
    const release = (): void => { const held = releaseReport; releaseReport = undefined; held?.() }
    const server = createServer((req, res) => {
      const path = req.url ?? ''
      seen.push(`${req.method ?? ''} ${path.split('?')[0] ?? ''}`)
      const answer = (json: unknown): void => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json)) }
      req.resume().on('end', () => {
        if (path === '/peer/registry') return answer({ data: { taskId: 't' } })
        if (path === '/api/v1/tasks/t') return answer({ cdnStatus: 'SUCCESS', fileLength: MIB, pieceSize: MIB, pieceTotal: 1, hash: toHex(hash) })
        if (path.startsWith('/api/v1/tasks/t/pieces?')) {
          if (handed === 0) { handed++; return answer([info('bad', bad)]) }
          if (handed === 1 && reported) { handed++; return answer([info('good', good)]) }
          if (handed === 2) release()
          return answer([])
        }
        if (path.endsWith('/error')) { reported = true; releaseReport = () => answer({}); return }
        answer({})
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    try {
      const pieces: string[] = []
      const result = await fetchThroughScheduler(client, `http://127.0.0.1:${port}`, 'http://origin/file', {
        stallMs: 5000, onPiece: piece => { pieces.push(`${piece.source} ${String(piece.ok)}`) }
      })
      assert.deepEqual(pieces, ['bad false', 'good true'])
      assert.deepEqual(result.sources, { good: 1 })
      assert.ok(Buffer.from(await client.blobs.getBytes(hash)).equals(Buffer.from(data)))
      assert.equal(handed, 2, seen.join(', '))
    } finally {
      release()
      server.closeAllConnections()
      server.close()
      await Promise.all([good.stop(), bad.stop(), client.stop()])
    }
  })
})
