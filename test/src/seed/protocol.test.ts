import assert from 'node:assert/strict'
import { blake3 } from '../../../store/bao/hash.js'
import { collect, randomBytes, rejection } from '../../helpers.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { OriginServer } from '../origin/origin-server.js'
import { TASK_PROTOCOL } from '../../../src/seed/constants.js'
import { encodeFrame, FrameReader } from '../../../src/seed/frames.js'

describe('seed peers: /verity/task/1 between two nodes', function () {
  this.timeout(120000)
  let server: OriginServer
  let seed: VerityNode
  let requester: VerityNode
  let seedAddr: string

  beforeEach(async () => {
    server = await OriginServer.start()
    // The origin is on 127.0.0.1: the seed reaches it only as an allowed prefix.
    seed = await createNode({ seed: { origins: [server.url('/')], limits: { maxTasksPerPeer: 3 } } })
    requester = await createNode()
    seedAddr = (seed.addrs()[0] as { toString: () => string }).toString()
  })
  afterEach(async () => {
    await requester.stop()
    await seed.stop()
    await server.stop()
  })

  it('request names the blob once the seed has hashed it; get fetches it, verified', async () => {
    const data = randomBytes(3 << 20, 7)
    const url = server.put('/file.bin', data)
    const progress: string[] = []
    const task = await requester.seeds.request(seedAddr, url, { onProgress: event => progress.push(event.type) })
    assert.deepEqual(task.hash, blake3(data))
    assert.equal(task.size, data.length)
    assert.equal(task.format, 'raw')
    assert.equal(task.taskId, seed.origins.taskId(url))
    assert.ok(progress.includes('seed:task'))
    const got = await requester.seeds.get(seedAddr, url)
    assert.deepEqual(got.hash, blake3(data))
    assert.ok(got.bytesReceived >= data.length)
    assert.deepEqual(Buffer.concat(await collect(requester.blobs.reader(got.hash))), Buffer.from(data))
    assert.equal(server.stats('/file.bin').heads, 1, 'the second ask found the task known')
  })

  it('an origin error comes back named, with its URL; the seed goes on serving', async () => {
    const missing = server.url('/nothing-here?token=secret')
    const err = await rejection(async () => await requester.seeds.request(seedAddr, missing, { filter: ['token'] }))
    assert.equal(err.name, 'OriginNotFound')
    assert.equal((err as { url?: string }).url, server.url('/nothing-here'))
    assert.equal((err as { status?: number }).status, 404)
    assert.ok(!err.message.includes('secret'), err.message)
    const denied = await rejection(async () => await requester.seeds.request(seedAddr, server.put('/denied', new Uint8Array(10), { status: 403 })))
    assert.equal(denied.name, 'OriginDenied')
    const ok = await requester.seeds.request(seedAddr, server.put('/ok', new Uint8Array(1000).fill(1)))
    assert.equal(ok.size, 1000)
  })

  it('an oversized request is refused with RequestTooLarge; the next is served', async () => {
    const url = server.put('/small', new Uint8Array(100).fill(2))
    const err = await rejection(async () => await requester.seeds.request(seedAddr, url, { headers: { 'x-big': 'a'.repeat(100 << 10) } }))
    assert.equal(err.name, 'RequestTooLarge')
    assert.match(err.message, /message bytes: \d+ is over 65536/)
    assert.equal(server.stats('/small').heads, 0, 'nothing asked of the origin')
    assert.equal((await requester.seeds.request(seedAddr, url)).size, 100)
  })

  it('a peer past its concurrent requests is refused with RateLimited at once; others are served', async () => {
    const url = server.put('/slow', randomBytes(1 << 20, 3), { rate: 512 << 10 })
    const slow = Array.from({ length: 3 }, async (_, i) => await requester.seeds.request(seedAddr, `${url}?n=${i}`))
    await new Promise(resolve => setTimeout(resolve, 300))
    const err = await rejection(async () => await requester.seeds.request(seedAddr, url))
    assert.equal(err.name, 'RateLimited')
    const other = await createNode()
    try {
      assert.equal((await other.seeds.request(seedAddr, server.put('/other', new Uint8Array(10)))).size, 10)
    } finally {
      await other.stop()
    }
    for (const result of await Promise.all(slow)) assert.equal(result.size, 1 << 20)
  })

  it('the policy: file: URLs are not fetched by default; a peer not listed is refused', async () => {
    const file = await rejection(async () => await requester.seeds.request(seedAddr, 'file:///etc/passwd'))
    assert.equal(file.name, 'Permission')
    const open = await createNode({ seed: {} })
    try {
      const byDefault = await rejection(async () => await requester.seeds.request(String(open.addrs()[0]), 'file:///etc/passwd'))
      assert.equal(byDefault.name, 'Permission')
      assert.match(byDefault.message, /http: and https: URLs only/)
    } finally {
      await open.stop()
    }
    const closed = await createNode({ seed: { allow: { peers: ['12D3KooWNotThisOne'] }, origins: [server.url('/')] } })
    try {
      const addr = (closed.addrs()[0] as { toString: () => string }).toString()
      const err = await rejection(async () => await requester.seeds.request(addr, server.put('/x', new Uint8Array(5))))
      assert.equal(err.name, 'Permission')
      assert.match(err.message, /may not ask this seed/)
    } finally {
      await closed.stop()
    }
  })

  it('a node without `seed` does not speak the protocol', async () => {
    const plain = await createNode()
    try {
      const err = await rejection(async () => await requester.seeds.request(plain.addrs()[0] as never, server.url('/x')))
      assert.notEqual(err.name, 'OriginNotFound')
    } finally {
      await plain.stop()
    }
  })
})

describe('seed peers: a requester that misbehaves', function () {
  this.timeout(60000)

  it('a request never completed is answered Timeout; the seed serves others meanwhile', async () => {
    const server = await OriginServer.start()
    const seed = await createNode({ seed: { origins: [server.url('/')], limits: { requestTimeoutMs: 500 } } })
    const requester = await createNode()
    try {
      const addr = seed.addrs()[0] as never
      const pooled = await requester.pool.open(addr, [TASK_PROTOCOL])
      await pooled.stream.write(new Uint8Array([0, 0, 1])) // three bytes of a length, then nothing
      const reader = new FrameReader(pooled.stream.source, 1 << 20)
      assert.equal((await requester.seeds.request(addr, server.put('/meanwhile', new Uint8Array(7)))).size, 7)
      const answer = await reader.next()
      assert.equal(answer?.type, 'error')
      assert.equal(answer?.name, 'Timeout')
      pooled.release()
      const garbage = await requester.pool.open(addr, [TASK_PROTOCOL])
      await garbage.stream.write(encodeFrame({ type: 'task', url: 42 }))
      await garbage.stream.closeWrite()
      const refused = await new FrameReader(garbage.stream.source, 1 << 20).next()
      assert.equal(refused?.name, 'MalformedMessage')
      assert.match(String(refused?.message), /url must be a string/)
      garbage.release()
    } finally {
      await requester.stop()
      await seed.stop()
      await server.stop()
    }
  })
})
