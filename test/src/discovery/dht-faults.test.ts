import assert from 'node:assert/strict'
import { createNode, type NodeOptions, type VerityNode } from '../../../src/node/create-node.js'
import { MemStore } from '../../../store/mem-store.js'
import { randomBytes } from '../../helpers.js'
import { corrupting } from '../node/corrupting-store.js'
import { announced, foundProviders } from './found-providers.js'

const MIB = 1 << 20


describe('discovery: providers found in the DHT that lie or are gone', function () {
  this.timeout(90000)
  const nodes: VerityNode[] = []
  let hub: VerityNode
  const dht = { selfQueryIntervalMs: 500, scanIntervalMs: 200, announceTimeoutMs: 5000, lookupTimeoutMs: 10000 }
  const join = async (options: NodeOptions = {}): Promise<VerityNode> => {
    const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], ...options, dht: { ...dht, bootstrap: hub === undefined ? [] : [hub.addrs()[0]?.toString() as string], ...options.dht } })
    nodes.push(node)
    return node
  }
  before(async () => { hub = await join() })
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })

  it('a provider serving corrupt data is dropped and the fetch completes from another, verified', async () => {
    const bytes = randomBytes(8 * MIB, 21)
    // The honest one is slow, so the download is still going when the liar is found and asked.
    const honest = await join({ provide: { throttleSend: async () => { await new Promise(resolve => setTimeout(resolve, 2)) } } })
    const liar = await join({ store: corrupting(new MemStore()) })
    const { hash } = await honest.blobs.addBytes(bytes)
    await liar.blobs.addBytes(bytes)
    await announced([honest, liar], hash)
    const client = await join({ dht: { mode: 'client' }, downloader: { maxStripeBytes: MIB } })
    const lookup = new AbortController()
    const result = await client.downloader.download({ request: hash, providers: client.discovery!.findProviders(hash, { signal: lookup.signal }), strategy: 'split', timeoutMs: 60000 })
    lookup.abort()
    assert.ok(Buffer.from(await client.blobs.getBytes(hash)).equals(Buffer.from(bytes)), 'the bytes added')
    assert.equal(result.providers[liar.peerId]?.bad, true, `the liar was asked and dropped: ${JSON.stringify(result.providers)}`)
    assert.equal(result.providers[liar.peerId]?.bytes, 0)
    assert.equal(result.providers[honest.peerId]?.bytes, 8 * MIB)
  })

  it('a provider whose record outlives it (stopped) costs a failed dial, not the fetch', async () => {
    const bytes = randomBytes(4 * MIB, 22)
    const ghost = await join()
    const alive = await join({ provide: { throttleSend: async () => { await new Promise(resolve => setTimeout(resolve, 2)) } } })
    const { hash } = await ghost.blobs.addBytes(bytes)
    await alive.blobs.addBytes(bytes)
    await announced([ghost, alive], hash)
    await ghost.stop()
    nodes.splice(nodes.indexOf(ghost), 1)
    const client = await join({ dht: { mode: 'client' }, downloader: { maxStripeBytes: MIB } })
    const { providers, found, stop } = foundProviders(client, hash)
    const started = Date.now()
    const result = await client.downloader.download({ request: hash, providers, strategy: 'split', timeoutMs: 60000 })
    stop()
    assert.ok(Buffer.from(await client.blobs.getBytes(hash)).equals(Buffer.from(bytes)))
    assert.ok(found.includes(ghost.peerId), `the stopped node's record was found: ${found.join(' ')}`)
    assert.equal(result.providers[alive.peerId]?.bytes, 4 * MIB)
    assert.ok(Date.now() - started < 30000, `done in ${Date.now() - started} ms`)
  })
})
