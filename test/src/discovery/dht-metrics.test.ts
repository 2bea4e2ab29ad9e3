import assert from 'node:assert/strict'
import { GatewayMetrics } from '../../../src/http/metrics.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { randomBytes } from '../../helpers.js'

/** The value of a metric line in Prometheus text (`name{labels} value`), or undefined. */
function value (text: string, line: string): number | undefined {
  const found = text.split('\n').find(l => l.startsWith(line + ' '))
  return found === undefined ? undefined : Number(found.slice(line.length + 1))
}

describe('DHT metrics on /metrics: lookups and announcements', function () {
  this.timeout(60000)
  const nodes: VerityNode[] = []
  after(async () => { await Promise.all(nodes.map(async node => { await node.stop() })) })

  it('counts a lookup that found a provider, its first provider\'s time, and the announcement the provider made', async () => {
    const served = new GatewayMetrics()
    const asking = new GatewayMetrics()
    const timings = { scanIntervalMs: 200, announceTimeoutMs: 5000 }
    const provider = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], dht: { ...timings, onEvent: served.onDiscovery } })
    nodes.push(provider)
    served.watch(provider)
    const bootstrap = provider.addrs().map(String).find(a => a.includes('/tcp/')) as string
    const client = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], dht: { ...timings, bootstrap: [bootstrap], onEvent: asking.onDiscovery } })
    nodes.push(client)
    const { hash } = await provider.blobs.addBytes(randomBytes(5000, 3))
    const end = Date.now() + 20000
    while (provider.discovery?.announceStats().done === 0) {
      if (Date.now() > end) throw new Error('no announcement within 20 s')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    const found: string[] = []
    for await (const p of (client.discovery as NonNullable<VerityNode['discovery']>).findProviders(hash, { timeoutMs: 10000 })) found.push(p.peerId)
    assert.deepEqual(found, [provider.peerId])
    const asked = await asking.text()
    assert.equal(value(asked, 'verity_dht_lookups_started_total'), 1)
    assert.equal(value(asked, 'verity_dht_lookups_total{result="found"}'), 1)
    assert.equal(value(asked, 'verity_dht_providers_found_total'), 1)
    assert.equal(value(asked, 'verity_dht_first_provider_seconds_count'), 1)
    const serving = await served.text()
    assert.ok((value(serving, 'verity_dht_announcements_total{result="ok"}') ?? 0) >= 1, serving)
    assert.ok((value(serving, 'verity_dht_announce_seconds_count') ?? 0) >= 1)
    assert.equal(value(serving, 'verity_dht_announced_blobs'), 1)
    assert.equal(value(serving, 'verity_dht_pending_blobs'), 0)
    assert.equal(value(serving, 'verity_relay_addresses'), 0)
    assert.equal(serving.includes('verity_relay_reservations'), false, 'not a relay: no reservations gauge')
  })
})
