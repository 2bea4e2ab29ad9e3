import assert from 'node:assert/strict'
import { taskIdOf } from '../../../src/origin/task-id.js'
import { assertError, HASH, MIB, startScheduler } from './harness.js'

type Started = Awaited<ReturnType<typeof startScheduler>>

const TASK_INFO_KEYS = ['ID', 'asSeed', 'cdnStatus', 'fileLength', 'hash', 'httpFileLength', 'identifier', 'md5', 'pieceSize', 'pieceTotal', 'rawURL', 'realMd5', 'taskURL']
const PIECE_INFO_KEYS = ['extra', 'pID', 'path', 'peerIP', 'peerPort', 'pieceRange', 'pieceSize']
const LENGTH = 10 * MIB + 1 // three pieces of 4 MiB: the last one byte long... plus 2 MiB
const RANGES = ['0-4194303', '4194304-8388607', '8388608-10485760']

/** Peers a (holds the file), b and c (fetch it); a task of LENGTH bytes made by a with its hash. */
async function fleet (s: Started): Promise<{ a: string, b: string, c: string, task: string }> {
  const a = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.1', hostName: 'a', port: 15001, extra: { peerId: 'pa', addrs: '/ip4/10.0.0.1/tcp/1' } })).json.ID
  const b = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.2', hostName: 'b', port: 15002 })).json.ID
  const c = (await s.call('POST', '/api/v1/peers', { IP: '10.0.0.3', hostName: 'c', port: 15003 })).json.ID
  const task = (await s.call('POST', '/api/v1/tasks', { rawURL: 'http://origin.example/f.bin', fileLength: LENGTH, hash: HASH, peerID: a, cID: 'ca' })).json.ID
  for (const [cid, peer] of [['cb', b], ['cc', c]]) await s.call('POST', '/api/v1/tasks', { rawURL: 'http://origin.example/f.bin', peerID: peer, cID: cid })
  return { a, b, c, task }
}

describe('scheduler API: /api/v1/tasks', function () {
  let s: Started
  beforeEach(async () => { s = await startScheduler() })
  afterEach(async () => { await s.stop() })

  it('POST: 201 TaskCreateResponse, the task id of the URL with its filter and identifier; the same URL joins the task', async () => {
    const url = 'http://user:secret@origin.example/a/f.iso?sig=1&b=2&a=1'
    const answer = await s.call('POST', '/api/v1/tasks', { rawURL: url, filter: ['sig'], identifier: 'v1', fileLength: 300 * MIB, hash: HASH })
    assert.equal(answer.status, 201)
    assert.deepEqual(answer.json, { ID: taskIdOf(url, { filter: ['sig'], tag: 'v1' }), fileLength: 300 * MIB, pieceSize: 5 * MIB, cdnSource: 'supernode' })
    const again = await s.call('POST', '/api/v1/tasks', { rawURL: 'http://user:secret@origin.example/a/f.iso?a=1&b=2&sig=other', filter: ['sig'], identifier: 'v1' })
    assert.equal(again.json.ID, answer.json.ID)
    const big = await s.call('POST', '/api/v1/tasks', { rawURL: 'http://origin.example/big', fileLength: 2048 * MIB, hash: HASH })
    assert.equal(big.json.pieceSize, 15 * MIB, 'min(2048/100 + 2, 15) MB')
  })

  it('POST: 400 naming rawURL, hash, fileLength, peerID, filter', async () => {
    assertError(await s.call('POST', '/api/v1/tasks', {}), 400, 'rawURL')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'not a url' }), 400, 'rawURL')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', hash: 'xyz', fileLength: 1 }), 400, 'hash')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', hash: HASH }), 400, 'fileLength')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', fileLength: -1 }), 400, 'fileLength')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', peerID: 'nobody' }), 400, 'peerID')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', filter: 'sig' }), 400, 'filter')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', identifier: 'a\u0000b' }), 400, 'identifier')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', taskId: 'has space' }), 400, 'taskId')
    assertError(await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/f', taskId: 'x'.repeat(257) }), 400, 'taskId')
  })

  it('GET /{id}: 200 TaskInfo field by field, no credentials and no filtered parameter in its URLs; 404', async () => {
    const url = 'http://user:secret@origin.example/f?sig=abc&x=1'
    const { ID } = (await s.call('POST', '/api/v1/tasks', { rawURL: url, filter: ['sig'], fileLength: LENGTH, hash: HASH, md5: 'm' })).json
    const answer = await s.call('GET', `/api/v1/tasks/${ID}`)
    assert.equal(answer.status, 200)
    assert.deepEqual(Object.keys(answer.json).sort(), TASK_INFO_KEYS)
    assert.deepEqual(answer.json, {
      ID, asSeed: false, cdnStatus: 'SUCCESS', fileLength: LENGTH, httpFileLength: LENGTH, identifier: '', md5: 'm',
      pieceSize: 4 * MIB, pieceTotal: 3, rawURL: 'http://origin.example/f?x=1', realMd5: '', taskURL: 'http://origin.example/f?x=1', hash: HASH
    })
    assert.ok(!answer.text.includes('secret') && !answer.text.includes('abc'))
    const waiting = (await s.call('POST', '/api/v1/tasks', { rawURL: 'http://h/unknown' })).json.ID
    assert.equal((await s.call('GET', `/api/v1/tasks/${waiting}`)).json.cdnStatus, 'WAITING', 'no seed known, nobody has it')
    assertError(await s.call('GET', '/api/v1/tasks/nope'), 404)
  })

  it('PUT /{id}: 200 with no body, the peer then holds every piece; 404 unknown task or peer; 400 without peerID', async () => {
    const { b, task } = await fleet(s)
    const answer = await s.call('PUT', `/api/v1/tasks/${task}`, { peerID: b })
    assert.equal(answer.status, 200)
    assert.equal(answer.text, '')
    const nodes = (await s.call('POST', '/peer/network', {})).json.nodes
    assert.deepEqual(nodes.find((node: any) => node.basic.ID === b).tasks[0].pieces.map((piece: any) => piece.pieceRange), RANGES)
    assertError(await s.call('PUT', '/api/v1/tasks/nope', { peerID: b }), 404)
    assertError(await s.call('PUT', `/api/v1/tasks/${task}`, { peerID: 'nobody' }), 404)
    assertError(await s.call('PUT', `/api/v1/tasks/${task}`, {}), 400, 'peerID')
  })

  it('DELETE /{id}: 204, then 404; 400 naming full when it is not a boolean', async () => {
    const { task } = await fleet(s)
    assertError(await s.call('DELETE', `/api/v1/tasks/${task}?full=maybe`), 400, 'full')
    const answer = await s.call('DELETE', `/api/v1/tasks/${task}?full=true`)
    assert.equal(answer.status, 204)
    assertError(await s.call('GET', `/api/v1/tasks/${task}`), 404)
    assertError(await s.call('DELETE', `/api/v1/tasks/${task}`), 404)
    assertError(await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb`), 404)
  })

  it('GET /{id}/pieces: 200 PieceInfo[] field by field, num pieces (4 by default) not handed out twice; 400 clientID, num; 404', async () => {
    const { a, task } = await fleet(s)
    const answer = await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb&num=2`)
    assert.equal(answer.status, 200)
    assert.equal(answer.json.length, 2)
    assert.deepEqual(Object.keys(answer.json[0]).sort(), PIECE_INFO_KEYS)
    assert.deepEqual(answer.json[0], { pID: a, path: `/blob/${HASH}`, peerIP: '10.0.0.1', peerPort: 15001, pieceRange: RANGES[0], pieceSize: 4 * MIB, extra: { peerId: 'pa', addrs: '/ip4/10.0.0.1/tcp/1' } })
    assert.deepEqual((await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb`)).json.map((piece: any) => piece.pieceRange), [RANGES[2]], 'the rest, once')
    assert.deepEqual((await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb`)).json, [], 'all in flight')
    assertError(await s.call('GET', `/api/v1/tasks/${task}/pieces`), 400, 'clientID')
    assertError(await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb&num=0`), 400, 'num')
    assertError(await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=nobody`), 404)
    assertError(await s.call('GET', '/api/v1/tasks/nope/pieces?clientID=cb'), 404)
  })

  it('GET /{id}/pieces with a PiecePullRequest body reports the last piece: the requester then serves it', async () => {
    const { b, task } = await fleet(s)
    const [first] = (await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb&num=1`)).json
    await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb&num=1`, { dfgetTaskStatus: 'RUNNING', pieceRange: first.pieceRange, pieceResult: 'SUCCESS', dstPID: first.pID })
    const forC = (await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cc&num=3`)).json
    assert.equal(forC.find((piece: any) => piece.pieceRange === first.pieceRange)?.pID, b, 'b holds it now, and is less loaded than a')
    assertError(await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb`, { pieceRange: '1-2', pieceResult: 'SUCCESS' }), 400, 'pieceRange')
    assertError(await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cb`, { pieceResult: 'GREAT' }), 400, 'pieceResult')
  })

  it('PUT /{id}/pieces/{range}: 200; 400 naming pieceRange (malformed, backwards, not a piece), clientID, pieceStatus; 404', async () => {
    const { a, task } = await fleet(s)
    const answer = await s.call('PUT', `/api/v1/tasks/${task}/pieces/${RANGES[1]}`, { clientID: 'cb', dstPID: a, pieceStatus: 'SUCCESS' })
    assert.equal(answer.status, 200)
    assert.equal(answer.text, '')
    for (const range of ['abc', '5-1', '0-4194304', '1-4194304', '-1-5', '0-99999999999999999']) {
      assertError(await s.call('PUT', `/api/v1/tasks/${task}/pieces/${range}`, { clientID: 'cb' }), 400, 'pieceRange')
    }
    assertError(await s.call('PUT', `/api/v1/tasks/${task}/pieces/${RANGES[0]}`, {}), 400, 'clientID')
    assertError(await s.call('PUT', `/api/v1/tasks/${task}/pieces/${RANGES[0]}`, { clientID: 'cb', pieceStatus: 'OK' }), 400, 'pieceStatus')
    assertError(await s.call('PUT', `/api/v1/tasks/nope/pieces/${RANGES[0]}`, { clientID: 'cb' }), 404)
    assertError(await s.call('PUT', `/api/v1/tasks/${task}/pieces/${RANGES[0]}`, { clientID: 'nobody' }), 404)
  })

  it('POST /{id}/pieces/{range}/error: 200; the source falls in standing and is not handed out for that piece until it reports it good', async () => {
    const { a, b, task } = await fleet(s)
    await s.call('PUT', `/api/v1/tasks/${task}/pieces/${RANGES[0]}`, { clientID: 'cb', dstPID: a })
    // c is told b for piece 0 (b is idle, a is busy with b's hand-outs)... then reports b's copy corrupt.
    const answer = await s.call('POST', `/api/v1/tasks/${task}/pieces/${RANGES[0]}/error`, { srcCid: 'cc', dstPid: b, errorType: 'FILE_MD5_NOT_MATCH' })
    assert.equal(answer.status, 200)
    assert.equal(s.scheduler.ctx.state.peers.get(b)?.standing, 0.5)
    for (let i = 0; i < 3; i++) {
      const pieces = (await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cc&num=3`)).json
      assert.ok(pieces.every((piece: any) => !(piece.pieceRange === RANGES[0] && piece.pID === b)), 'b is banned for piece 0')
      for (const piece of pieces) await s.call('PUT', `/api/v1/tasks/${task}/pieces/${piece.pieceRange}`, { clientID: 'cc', pieceStatus: 'FAILED', dstPID: piece.pID })
    }
    // b fetches piece 0 again and verifies it: the ban is lifted.
    await s.call('PUT', `/api/v1/tasks/${task}/pieces/${RANGES[0]}`, { clientID: 'cb', dstPID: a })
    assert.equal(s.scheduler.ctx.state.bans.get(task)?.get(0)?.has(b), false)
    assertError(await s.call('POST', `/api/v1/tasks/${task}/pieces/${RANGES[0]}/error`, { dstPid: b }), 400, 'srcCid')
    assertError(await s.call('POST', `/api/v1/tasks/${task}/pieces/${RANGES[0]}/error`, { srcCid: 'cc' }), 400, 'dstPid')
    // A source unknown (gone meanwhile) is 404, yet the piece is no longer on its way to cc: it is handed out again at once.
    const [handed] = (await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cc&num=1`)).json
    assert.ok(handed !== undefined)
    assert.deepEqual((await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cc&num=3`)).json.filter((piece: any) => piece.pieceRange === handed.pieceRange), [])
    assertError(await s.call('POST', `/api/v1/tasks/${task}/pieces/${handed.pieceRange}/error`, { srcCid: 'cc', dstPid: 'nobody' }), 404)
    assert.equal((await s.call('GET', `/api/v1/tasks/${task}/pieces?clientID=cc&num=3`)).json.filter((piece: any) => piece.pieceRange === handed.pieceRange).length, 1)
    assertError(await s.call('POST', `/api/v1/tasks/${task}/pieces/${RANGES[0]}/error`, { srcCid: 'cc', dstPid: b, errorType: 'BAD' }), 400, 'errorType')
    assertError(await s.call('POST', `/api/v1/tasks/nope/pieces/${RANGES[0]}/error`, { srcCid: 'cc', dstPid: b }), 404)
  })
})
