import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { blake3 } from '../../../store/bao/hash.js'
import { randomBytes, rejection } from '../../helpers.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { gatewayHandler } from '../../../src/http/gateway.js'
import { GatewayMetrics } from '../../../src/http/metrics.js'
import type { PreheatStatus } from '../../../src/origin/interface.js'
import { OriginServer } from '../origin/origin-server.js'

const NOTHING = { heads: 0, gets: 0, notModified: 0, bytes: 0 }

/** A gateway on 127.0.0.1 for `node`; its base URL and how to stop it. */
async function gateway (node: VerityNode): Promise<{ base: string, stop: () => Promise<void> }> {
  const server: Server = createServer(gatewayHandler(node, new GatewayMetrics()))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

describe('seed peers: a seed does not fetch from non-public addresses for others (SSRF)', function () {
  this.timeout(120000)
  let server: OriginServer
  let other: OriginServer
  let requester: VerityNode

  beforeEach(async () => {
    server = await OriginServer.start()
    other = await OriginServer.start()
    requester = await createNode()
  })
  afterEach(async () => {
    await requester.stop()
    await other.stop()
    await server.stop()
  })

  describe('a seed with no --origin-allow', () => {
    let seed: VerityNode
    let seedAddr: string
    beforeEach(async () => {
      seed = await createNode({ seed: {} })
      seedAddr = String(seed.addrs()[0])
    })
    afterEach(async () => { await seed.stop() })

    it('a peer asking for http://127.0.0.1:<port>/ or localhost is refused with Permission naming the host; the origin saw nothing', async () => {
      const url = server.put('/x', randomBytes(1000, 1))
      const err = await rejection(async () => await requester.seeds.request(seedAddr, url))
      assert.equal(err.name, 'Permission')
      assert.match(err.message, /127\.0\.0\.1 is a loopback address, which this node does not fetch from for others \(a seed allows it with --origin-allow/)
      const named = await rejection(async () => await requester.seeds.get(seedAddr, `http://localhost:${server.port}/x`))
      assert.equal(named.name, 'Permission')
      assert.match(named.message, /localhost is at (127\.0\.0\.1|::1), a loopback address/)
      const metadata = await rejection(async () => await requester.seeds.request(seedAddr, 'http://169.254.169.254/latest/meta-data/'))
      assert.equal(metadata.name, 'Permission')
      assert.match(metadata.message, /link-local/)
      assert.deepEqual(server.stats('/x'), NOTHING)
    })

    it('a preheat of a loopback URL FAILS with OriginForbiddenAddress; the origin saw nothing', async () => {
      const url = server.put('/pre', randomBytes(1000, 2))
      let status: PreheatStatus = await requester.seeds.preheat(seedAddr, [url])
      while (status.state === 'WAITING' || status.state === 'RUNNING') {
        await delay(20)
        status = await requester.seeds.preheatStatus(seedAddr, status.id)
      }
      assert.equal(status.state, 'FAILED')
      assert.match(String(status.error), /^OriginForbiddenAddress: 127\.0\.0\.1 is a loopback address/)
      assert.deepEqual(server.stats('/pre'), NOTHING)
    })

    it('GET /tasks?url=http://127.0.0.1:<port>/ is 403 OriginForbiddenAddress; the origin saw nothing', async () => {
      const web = await gateway(seed)
      try {
        const url = server.put('/web', randomBytes(1000, 3))
        const answer = await fetch(`${web.base}/tasks?url=${encodeURIComponent(url)}`)
        assert.equal(answer.status, 403)
        const body = await answer.json() as { error: string, message: string, url: string }
        assert.equal(body.error, 'OriginForbiddenAddress')
        assert.equal(body.url, url)
        assert.match(body.message, /--origin-allow/)
        assert.deepEqual(server.stats('/web'), NOTHING)
      } finally {
        await web.stop()
      }
    })

    it('what the seed\'s own program imported is served to a peer as a known task, without asking the origin again', async () => {
      const data = randomBytes(50000, 4)
      const url = server.put('/own', data)
      await seed.origins.import(url)
      const asked = { ...server.stats('/own') }
      const task = await requester.seeds.request(seedAddr, url)
      assert.deepEqual(task.hash, blake3(data))
      assert.deepEqual(server.stats('/own'), asked)
    })
  })

  it('--origin-allow <prefix> lets the seed reach its private address; a redirect out of it (another port, localhost) is refused', async () => {
    const seed = await createNode({ seed: { origins: [server.url('/')] } })
    const web = await gateway(seed)
    try {
      const seedAddr = String(seed.addrs()[0])
      const data = randomBytes(40000, 5)
      const task = await requester.seeds.request(seedAddr, server.put('/allowed', data))
      assert.deepEqual(task.hash, blake3(data))
      other.put('/secret', randomBytes(100, 6))
      const byIp = server.redirect('/to-ip', 302, other.url('/secret'))
      const err = await rejection(async () => await requester.seeds.request(seedAddr, byIp))
      assert.equal(err.name, 'Permission')
      assert.match(err.message, /127\.0\.0\.1 is a loopback address.*redirected from/)
      const byName = server.redirect('/to-name', 307, `http://localhost:${other.port}/secret`)
      const named = await fetch(`${web.base}/tasks?url=${encodeURIComponent(byName)}`)
      assert.equal(named.status, 403)
      assert.equal((await named.json() as { error: string }).error, 'OriginForbiddenAddress')
      assert.deepEqual(other.stats('/secret'), NOTHING, 'the redirect target saw nothing')
    } finally {
      await web.stop()
      await seed.stop()
    }
  })
})
