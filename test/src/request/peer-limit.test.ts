import assert from 'node:assert/strict'
import type { VerityNode } from '../../../src/node/create-node.js'
import { Libp2pRequestClient } from '../../../src/request/libp2p-client.js'
import { serveRequests } from '../../../src/request/libp2p-server.js'
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
    }, { maxPerPeer: 3 })
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
})
