import assert from 'node:assert/strict'
import type { VerityNode } from '../../../src/node/create-node.js'
import { Libp2pRequestClient } from '../../../src/request/libp2p-client.js'
import { serveRequests } from '../../../src/request/libp2p-server.js'
import { PeerSlots } from '../../../src/request/peer-slots.js'
import { REQUEST_PROTOCOL } from '../../../src/request/libp2p-frames.js'
import { collect } from '../../../src/request/util.js'
import { loopbackNode } from './libp2p-test-server.js'

describe('/verity/request/1: requests one peer may have open at once', function () {
  this.timeout(60000)
  let server: VerityNode
  let requester: VerityNode
  let release: () => void = () => {}
  let gate: Promise<void>
  let address: (path: string) => string

  before(async () => {
    server = await loopbackNode()
    requester = await loopbackNode()
    gate = new Promise(resolve => { release = resolve })
    await serveRequests(server.libp2p, async ({ path }) => {
      if (path === '/wait') await gate
      if (path === '/throw') throw new Error('the handler failed')
      if (path === '/break') return { status: 200, body: (async function * () { yield new Uint8Array(1); throw new Error('the body failed') })() }
      return { status: 200, body: 'ok' }
    }, { maxPerPeer: 3, requestTimeoutMs: 300 })
    const addr = server.libp2p.getMultiaddrs()[0]?.toString() as string
    address = path => `${addr}#${path}`
  })
  after(async () => { await Promise.all([server.stop(), requester.stop()]) })

  it('past the limit a 429; every way a request ends gives its place back', async () => {
    const client = new Libp2pRequestClient(requester.libp2p)
    try {
      // Requests that end badly (a handler that throws, a body that fails, a requester that gives up) leave no count behind.
      for (let i = 0; i < 4; i++) {
        const failed = await client.open(address('/throw'))
        assert.equal(failed.status, 500)
        await collect(failed.body)
        await assert.rejects(async () => await collect((await client.open(address('/break'))).body))
        const given = await client.open(address('/ok'))
        given.cancel()
      }
      const waiting = [0, 1, 2].map(async () => await client.open(address('/wait')))
      await new Promise(resolve => setTimeout(resolve, 200))
      const over = await client.open(address('/ok'))
      assert.equal(over.status, 429)
      assert.match(new TextDecoder().decode(await collect(over.body)), /RateLimited/)
      release()
      for (const response of await Promise.all(waiting)) assert.equal(new TextDecoder().decode(await collect(response.body)), 'ok')
      const after = await client.open(address('/ok'))
      assert.equal(after.status, 200)
      await collect(after.body)
    } finally {
      await client.close()
    }
  })

  it('a stream that never sends its head is reset after requestTimeoutMs (it held a place of its peer until then)', async () => {
    const connection = await requester.libp2p.dial(server.libp2p.getMultiaddrs()[0] as Parameters<typeof requester.libp2p.dial>[0])
    const stream = await connection.newStream(REQUEST_PROTOCOL)
    const started = performance.now()
    const ended = new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
    await ended
    const waited = performance.now() - started
    assert.ok(waited >= 250 && waited < 5000, `reset after ${Math.round(waited)} ms`)
  })

  it('PeerSlots: past the limit a request waits for a slot given back, first come first served; one whose signal aborts leaves the line', async () => {
    const slots = new PeerSlots(2)
    const none = new AbortController().signal
    const a = await slots.take('p', none)
    await slots.take('p', none)
    await slots.take('q', none)
    const leaving = new AbortController()
    const order: string[] = []
    const third = slots.take('p', leaving.signal).then(() => { order.push('third') }, (err: Error) => { order.push(`third ${err.message}`) })
    const fourth = slots.take('p', none).then(give => { order.push('fourth'); return give })
    assert.equal(slots.queued, true)
    leaving.abort(new Error('gave up'))
    await third
    a()
    a() // twice is once
    const give = await fourth
    assert.deepEqual(order, ['third gave up', 'fourth'])
    assert.equal(slots.queued, false)
    give()
  })
})
