import assert from 'node:assert/strict'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { createRequestClient, schedulerSeeds, serveSeedRequests, watchSchedulerSeeds } from '../../../src/request/index.js'
import { randomBytes } from '../../helpers.js'
import { OriginServer } from '../origin/origin-server.js'
import { startScheduler } from '../scheduler/harness.js'

async function until (check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10000
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('request SDK: the seed list from a scheduler', function () {
  this.timeout(120000)
  let origin: OriginServer
  let seeds: VerityNode[]
  let client: VerityNode
  let scheduler: Awaited<ReturnType<typeof startScheduler>>

  before(async () => {
    origin = await OriginServer.start()
    seeds = await Promise.all([0, 1, 2].map(async () => await createNode({ seed: { origins: [origin.url('/')] } })))
    for (const seed of seeds) await serveSeedRequests(seed)
    client = await createNode()
    // Two seeds known from the start (`verity scheduler --seed`), the third registers later.
    scheduler = await startScheduler({ seeds: seeds.slice(0, 2).map(seed => ({ peerId: seed.peerId, addrs: seed.addrs().map(String) })) })
  })
  after(async () => {
    await scheduler.stop()
    await Promise.all([...seeds, client].map(async node => { await node.stop() }))
    await origin.stop()
  })

  it('the ring follows the scheduler\'s seeds: those it starts with, one that registers, one that is dropped; gets go through them, verified', async () => {
    // A peer that is no seed is not listed.
    assert.equal((await scheduler.call('POST', '/api/v1/peers', { IP: '10.0.0.9', hostName: 'worker', port: 20000 })).status, 201)
    const listed = await schedulerSeeds(scheduler.url, { pageSize: 1 })
    assert.deepEqual(listed.map(seed => seed.split('/p2p/')[1]).sort(), seeds.slice(0, 2).map(seed => seed.peerId).sort())
    const sdk = createRequestClient({ seeds: [], libp2p: client.libp2p })
    const controller = new AbortController()
    try {
      await watchSchedulerSeeds(scheduler.url, list => { sdk.setSeeds(list) }, { intervalMs: 50, signal: controller.signal })
      assert.deepEqual(sdk.ring.members().sort(), seeds.slice(0, 2).map(seed => seed.peerId).sort())
      const third = seeds[2] as VerityNode
      const added = await scheduler.call('POST', '/api/v1/peers', { IP: '127.0.0.1', hostName: 'seed-three', port: 20001, extra: { peerId: third.peerId, addrs: third.addrs().map(String).join(' '), seed: 'true' } })
      assert.equal(added.status, 201)
      await until(() => sdk.ring.size === 3, 'the third seed on the ring')
      const data = randomBytes(1 << 20, 5)
      const url = origin.put('/from-scheduler.bin', data)
      const part = new Uint8Array(5000)
      const got = await sdk.getInto({ url, headers: { range: 'bytes=1000-5999' } }, part)
      assert.deepEqual(part, data.subarray(1000, 6000))
      assert.equal(got.seed, sdk.route({ url }).seeds[0])
      assert.equal((await scheduler.call('DELETE', `/api/v1/peers/${(added.json as { ID: string }).ID}`)).status, 204)
      await until(() => sdk.ring.size === 2, 'the dropped seed off the ring')
      assert.ok(!sdk.ring.members().includes(third.peerId))
    } finally {
      controller.abort()
      await sdk.close()
    }
  })

  it('a scheduler that cannot be reached leaves the last list in place', async () => {
    const sdk = createRequestClient({ seeds: [], libp2p: client.libp2p })
    const controller = new AbortController()
    try {
      await watchSchedulerSeeds('http://127.0.0.1:1', list => { sdk.setSeeds(list) }, { intervalMs: 50, signal: controller.signal })
      assert.equal(sdk.ring.size, 0)
      await assert.rejects(schedulerSeeds('http://127.0.0.1:1'), { code: 'ECONNREFUSED' })
    } finally {
      controller.abort()
      await sdk.close()
    }
  })
})
