import assert from 'node:assert/strict'
import { createNode, type NodeOptions, type VerityNode } from '../../../src/node/create-node.js'
import { RateLimited } from '../../../protocol/errors.js'
import type { ProviderEvent } from '../../../protocol/interface.js'
import { scopeOf } from '../../../protocol/provider/scope.js'
import { RangeSpecSeq } from '../../../protocol/range-spec.js'
import { MemStore } from '../../../store/mem-store.js'
import { randomBytes, rejection } from '../../helpers.js'

function quic (node: VerityNode): string {
  return String(node.addrs().find(a => a.toString().includes('/quic-v1')))
}

describe('provider policy, events and error classes', function () {
  this.timeout(60000)
  const nodes: VerityNode[] = []
  async function start (options: NodeOptions = {}): Promise<VerityNode> {
    const node = await createNode(options)
    nodes.push(node)
    return node
  }
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => n.stop())) })

  it('refuses a push by default with Permission, and accepts it when the policy allows that peer', async () => {
    const pusher = await start()
    const { hash } = await pusher.blobs.addBytes(randomBytes(300 * 1024, 3))
    const closed = await start()
    const error = await rejection(() => pusher.remote.push(quic(closed), { hash, ranges: RangeSpecSeq.root() }))
    assert.equal(error.name, 'Permission')
    assert.equal((await closed.blobs.status(hash)).status, 'absent')

    const stranger = await start()
    await stranger.blobs.addBytes(randomBytes(300 * 1024, 3))
    const open = await start({ provide: { push: { peers: [pusher.peerId] } } })
    const stats = await pusher.remote.push(quic(open), { hash, ranges: RangeSpecSeq.root() })
    assert.ok(stats.bytesSent > 300 * 1024)
    assert.deepEqual(await open.blobs.status(hash), { status: 'complete', size: 300 * 1024 })
    const refused = await rejection(() => stranger.remote.push(quic(open), { hash, ranges: RangeSpecSeq.root() }))
    assert.equal(refused.name, 'Permission', 'a peer not on the list is refused')
  })

  it('a node scoped to a collection (createNode({ provide: { scope } }), scopeOf) serves it whole and answers NotFound for the rest of its store', async () => {
    const store = new MemStore()
    const file = (await store.addBytes(randomBytes(200 * 1024, 6))).hash
    const other = (await store.addBytes(randomBytes(300 * 1024, 7))).hash
    const collection = (await store.addCollection([{ name: 'file.bin', hash: file }])).hash
    const provider = await start({ store, provide: { scope: await scopeOf(store, [{ hash: collection, format: 'hashseq' }]) } })
    const requester = await start()
    const result = await requester.remote.fetch(quic(provider), { hash: collection, format: 'hashseq' })
    assert.ok(result.complete)
    assert.deepEqual((await requester.blobs.readCollection(collection)).map(e => e.name), ['file.bin'])
    assert.equal((await requester.blobs.status(file)).status, 'complete')
    assert.equal((await rejection(() => requester.remote.fetch(quic(provider), other))).name, 'NotFound')
    assert.equal((await rejection(() => requester.remote.executeGetMany(quic(provider), [file, other]))).name, 'NotFound')
    assert.equal((await requester.blobs.status(other)).status, 'absent')
    await store.close()
  })

  it('tells not found, permission, rate limited and internal apart by err.name', async () => {
    const provider = await start({
      provide: {
        getMany: 'none',
        throttle: ctx => {
          if (ctx.request.type !== 'get') return
          const first = ctx.request.request.hash[0]
          if (first === 1) throw new RateLimited('slow down')
          if (first === 2) throw new Error('disk on fire')
        }
      }
    })
    const requester = await start()
    const name = async (hash: Uint8Array): Promise<string> => (await rejection(() => requester.remote.fetch(quic(provider), hash))).name
    assert.equal(await name(new Uint8Array(32).fill(0)), 'NotFound')
    assert.equal(await name(new Uint8Array(32).fill(1)), 'RateLimited')
    assert.equal(await name(new Uint8Array(32).fill(2)), 'Internal')
    const denied = await rejection(() => requester.remote.executeGetMany(quic(provider), [new Uint8Array(32)]))
    assert.equal(denied.name, 'Permission')
  })

  it('reports connected, requestReceived, progress and completed or aborted with statistics', async () => {
    const events: ProviderEvent[] = []
    const provider = await start({ onEvent: event => events.push(event) })
    const { hash } = await provider.blobs.addBytes(randomBytes(2 * 1024 * 1024, 4))
    const requester = await start()
    await requester.remote.fetch(quic(provider), hash)
    await rejection(() => requester.remote.fetch(quic(provider), new Uint8Array(32)))
    await new Promise(resolve => setTimeout(resolve, 50))
    const types = events.map(e => e.type)
    assert.equal(types.filter(t => t === 'connected').length, 1)
    assert.equal(types.filter(t => t === 'requestReceived').length, 2)
    assert.ok(types.filter(t => t === 'progress').length >= 8)
    const completed = events.find(e => e.type === 'completed')
    assert.ok(completed?.type === 'completed' && completed.stats.bytesSent > 2 * 1024 * 1024 && completed.context.peer === requester.peerId)
    const aborted = events.find(e => e.type === 'aborted')
    assert.ok(aborted?.type === 'aborted' && aborted.error.name === 'NotFound')
  })

  it('still speaks plain /iroh-bytes/4: a missing blob is an early end, read as NotFound', async () => {
    const provider = await start()
    const { hash } = await provider.blobs.addBytes(randomBytes(100 * 1024, 5))
    const requester = await start()
    const { IROH_PROTOCOL } = await import('../../../protocol/constants.js')
    const { AtInitial } = await import('../../../protocol/get/machine.js')
    const { runToStore } = await import('../../../protocol/get/import.js')
    const { byteStream } = await import('../../../src/net/stream.js')
    const open = async (): Promise<{ stream: ReturnType<typeof byteStream>, framed: boolean }> =>
      ({ stream: byteStream(await requester.libp2p.dialProtocol(provider.addrs()[0] as never, IROH_PROTOCOL)), framed: false })
    const stats = await runToStore(requester.blobs, await new AtInitial(open, { type: 'get', request: { hash, ranges: RangeSpecSeq.root() } }).next())
    assert.equal(stats.bytesWritten, 100 * 1024)
    const missing = await rejection(async () => runToStore(requester.blobs,
      await new AtInitial(open, { type: 'get', request: { hash: new Uint8Array(32), ranges: RangeSpecSeq.root() } }).next()))
    assert.equal(missing.name, 'NotFound')
  })

  it('answers an empty request (write side closed at once) with MalformedMessage, not a timeout', async () => {
    const provider = await start()
    const requester = await start()
    const { VERITY_PROTOCOL } = await import('../../../protocol/constants.js')
    const { deframe } = await import('../../../protocol/frame.js')
    const { byteStream } = await import('../../../src/net/stream.js')
    for (let i = 0; i < 20; i++) {
      const stream = byteStream(await requester.libp2p.dialProtocol(provider.addrs()[0] as never, VERITY_PROTOCOL))
      await stream.closeWrite()
      const error = await rejection(async () => { for await (const _ of deframe(stream.source)) { /* no payload */ } })
      assert.equal(error.name, 'MalformedMessage', error.message)
    }
  })

  it('keeps a pool: one connection per peer, statistics, health, warmup and close', async () => {
    const provider = await start()
    const { hash } = await provider.blobs.addBytes(randomBytes(64 * 1024, 6))
    const requester = await start({ pool: { idleTimeoutMs: 200 } })
    const warm = await requester.pool.warmup([quic(provider)])
    assert.equal(warm.connected, 1)
    await Promise.all([1, 2, 3].map(async () => requester.remote.executeGet(quic(provider), { hash, ranges: RangeSpecSeq.root() })))
    assert.equal(requester.libp2p.getConnections().length, 1)
    const stats = requester.pool.stats()
    assert.equal(stats.requestsSent, 3)
    assert.equal(stats.responsesReceived, 3)
    assert.equal(stats.errors, 0)
    assert.ok(stats.bytesReceived > 3 * 64 * 1024 && stats.bytesSent === 3 * 39, JSON.stringify(stats))
    assert.ok(stats.averageLatencyUs > 0)
    assert.equal(stats.idleConnections, 1)
    assert.ok(requester.pool.isHealthy())
    await new Promise(resolve => setTimeout(resolve, 600))
    assert.equal(requester.pool.stats().idleConnections, 0, 'the idle connection was closed')
    await requester.pool.close()
    assert.equal(requester.pool.isHealthy(), false)
    assert.equal((await rejection(() => requester.remote.fetch(quic(provider), new Uint8Array(32)))).name, 'PoolClosed')
  })
})
