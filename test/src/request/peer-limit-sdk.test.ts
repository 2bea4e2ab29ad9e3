import assert from 'node:assert/strict'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { createRequestClient, serveSeedRequests } from '../../../src/request/index.js'
import { randomBytes } from '../../helpers.js'
import { OriginServer } from '../origin/origin-server.js'

describe('request SDK over libp2p: more gets at once than a seed lets one peer hold', function () {
  this.timeout(120000)
  let origin: OriginServer
  let seeds: VerityNode[]
  let client: VerityNode

  before(async () => {
    origin = await OriginServer.start()
    seeds = await Promise.all([0, 1].map(async () => await createNode({ seed: { origins: [origin.url('/')] } })))
    for (const seed of seeds) await serveSeedRequests(seed)
    client = await createNode()
  })
  after(async () => {
    await Promise.all([...seeds, client].map(async node => { await node.stop() }))
    await origin.stop()
  })

  it('16 gets of one file at once: every one from the ring\'s seed, the origin asked once', async () => {
    const data = randomBytes(4 << 20, 9)
    const url = origin.put('/many.bin', data)
    const sdk = createRequestClient({ seeds: seeds.map(seed => `${seed.addrs()[0]?.toString() as string}`), libp2p: client.libp2p })
    try {
      const owner = sdk.route({ url }).seeds[0]
      const served = await Promise.all(Array.from({ length: 16 }, async (_, i) => {
        const res = await sdk.get({ url, headers: { range: `bytes=${i * 100000}-${i * 100000 + 99999}` } })
        for await (const _part of res.body) await new Promise(resolve => setTimeout(resolve, 5))
        return res.servedBy.join(',')
      }))
      assert.deepEqual(served, Array(16).fill(owner))
      assert.equal(origin.stats('/many.bin').gets, 1)
    } finally {
      await sdk.close()
    }
  })
})
