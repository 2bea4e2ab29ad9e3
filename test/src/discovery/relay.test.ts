import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { GatewayMetrics } from '../../../src/http/metrics.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { BlobTicket } from '../../../src/ticket.js'
import { randomBytes, rejection } from '../../helpers.js'

const TCP = ['/ip4/127.0.0.1/tcp/0']

/** A ticket naming `node` by its relayed addresses alone: a peer that can reach it only through the relay. */
function relayedOnly (node: VerityNode, hash: Uint8Array): BlobTicket {
  const ticket = node.ticket(hash)
  const relayed = ticket.multiaddrs.filter(a => a.toString().includes('/p2p-circuit') && !a.toString().includes('/webrtc'))
  assert.equal(relayed.length, 1, `one relayed address in ${ticket.multiaddrs.map(String).join(' ')}`)
  return new BlobTicket({ nodeId: ticket.nodeId, hash, multiaddrs: relayed })
}

describe('circuit relay on 127.0.0.1: slots, relayed tickets, limits (docs/reachability.md)', function () {
  this.timeout(60000)
  const nodes: VerityNode[] = []
  const start = async (...args: Parameters<typeof createNode>): Promise<VerityNode> => {
    const node = await createNode(...args)
    nodes.push(node)
    return node
  }
  after(async () => { await Promise.all(nodes.map(async node => { await node.stop() })) })

  it('a node reserves a slot, its ticket names the relayed address, and a peer fetches through the relay alone', async () => {
    const relay = await start({ listen: TCP, reachability: { relay: { maxReservations: 1 } } })
    const relayAddr = relay.addrs()[0]?.toString() as string
    const behind = await start({ listen: TCP, reachability: { relayVia: [relayAddr] } })
    const data = randomBytes(300_000, 5)
    const { hash } = await behind.blobs.addBytes(data)
    const full = behind.ticket(hash)
    // Relayed, and WebRTC signalled through the relay (hole punching; webrtc.test.ts).
    assert.deepEqual(full.multiaddrs.map(String).filter(a => a.includes('p2p-circuit')).sort(), [`${relayAddr}/p2p-circuit`, `${relayAddr}/p2p-circuit/webrtc`])
    const getter = await start({ listen: [], reachability: {} })
    const result = await getter.remote.fetch(relayedOnly(behind, hash))
    assert.equal(result.complete, true)
    assert.deepEqual(await getter.blobs.getBytes(hash), data)
    // On /metrics: the relay's one slot held, the node's relayed address, the getter's relayed connection.
    const gauges = async (node: VerityNode): Promise<string> => { const metrics = new GatewayMetrics(); metrics.watch(node); return await metrics.text() }
    assert.match(await gauges(relay), /^verity_relay_reservations 1$/m)
    assert.match(await gauges(behind), /^verity_relay_addresses 2$/m, 'the relayed address and the WebRTC one through it')
    assert.match(await gauges(getter), /^verity_relayed_connections 1$/m)
    const connections = getter.libp2p.getConnections(behind.libp2p.peerId)
    assert.ok(connections.some(c => c.limits !== undefined && multiaddr(c.remoteAddr.toString()).toString().includes('/p2p-circuit')), 'the transfer went over a relayed connection')
    // The relay has one slot, held: another node is refused, by name.
    const err = await rejection(async () => await createNode({ listen: TCP, reachability: { relayVia: [relayAddr] } }))
    assert.equal(err.name, 'RelayReservationFailed', err.message)
    assert.match(err.message, new RegExp(`could not reserve a slot on the relay ${relayAddr}`))
  })

  it('a node that names no relay finds one through the DHT (met through another peer, not its bootstrap) and reserves a slot; a peer fetches through it', async () => {
    const dht = { scanIntervalMs: 200 }
    const tcpOf = (node: VerityNode): string => node.addrs().map(String).find(a => a.includes('/tcp/') && !a.includes('p2p-circuit')) as string
    const relay = await start({ listen: TCP, dht, reachability: { relay: {} } })
    const hub = await start({ listen: TCP, dht: { ...dht, bootstrap: [tcpOf(relay)] } })
    const behind = await start({ listen: TCP, dht: { ...dht, bootstrap: [tcpOf(hub)] }, reachability: { discoverRelays: 1 } })
    const through = `${tcpOf(relay)}/p2p-circuit`
    const deadline = Date.now() + 30_000
    const slot = (): boolean => behind.addrs().some(a => a.toString().startsWith(`${through}/p2p/`))
    while (Date.now() < deadline && !slot()) await new Promise(resolve => setTimeout(resolve, 200))
    assert.ok(slot(), `a slot on the relay found: ${behind.addrs().map(String).join(' ')}`)
    const data = randomBytes(200_000, 11)
    const { hash } = await behind.blobs.addBytes(data)
    const ticket = behind.ticket(hash)
    const relayed = ticket.multiaddrs.filter(a => a.toString() === through)
    assert.equal(relayed.length, 1, `the ticket names it: ${ticket.multiaddrs.map(String).join(' ')}`)
    const getter = await start({ listen: [], reachability: {} })
    const result = await getter.remote.fetch(new BlobTicket({ nodeId: ticket.nodeId, hash, multiaddrs: relayed }))
    assert.equal(result.complete, true)
    assert.deepEqual(await getter.blobs.getBytes(hash), data)
    // Without a DHT there is nowhere to find one: said at once.
    const err = await rejection(async () => await createNode({ listen: TCP, reachability: { discoverRelays: 1 } }))
    assert.match(err.message, /finds relays through the DHT/)
  })

  it('a transfer past the relay\'s bytes per relayed connection fails with RelayLimitReached', async () => {
    const relay = await start({ listen: TCP, reachability: { relay: { maxBytesPerConnection: 256 * 1024 } } })
    const behind = await start({ listen: TCP, reachability: { relayVia: [relay.addrs()[0]?.toString() as string] } })
    const { hash } = await behind.blobs.addBytes(randomBytes(2 << 20, 6))
    const getter = await start({ listen: [], reachability: {} })
    const err = await rejection(async () => await getter.remote.fetch(relayedOnly(behind, hash)))
    assert.equal(err.name, 'RelayLimitReached', `${err.name}: ${err.message}`)
    assert.match(err.message, /cut the relayed connection at its limit/)
    // What arrived before the cut verified and stays: less than the blob, some of it.
    const status = await getter.blobs.status(hash)
    assert.notEqual(status.status, 'complete')
  })
})
