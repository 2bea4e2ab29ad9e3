import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { BlobTicket, InvalidTicket, MAX_TICKET_MULTIADDRS, otherAddrs, quicAddrs } from '../../src/ticket.js'
import { resolvePeer } from '../../src/net/peer.js'
import { reachabilityOf } from '../../src/cli/relay-flags.js'
import { parseArgs } from '../../src/cli/common.js'
import { RELAY_FLAGS, RELAY_VIA_FLAG } from '../../src/cli/relay-flags.js'
import { relaySettings, relayListenAddrs } from '../../src/discovery/reachability.js'

const id = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
const hash = Uint8Array.from({ length: 32 }, (_, i) => 200 - i)
const relayId = '12D3KooWCP64nfff9Xrn6no6ShqnfNU8WxreUvVqfAnvvniVsQng'
const relayed = `/ip4/7.0.1.1/tcp/4001/p2p/${relayId}/p2p-circuit`

describe('tickets with TCP and relayed addresses (docs/reachability.md)', () => {
  it('carries TCP and relayed addresses after the hash, direct first, and reads them back', () => {
    const ticket = new BlobTicket({ nodeId: id, hash, addrs: [{ ip: '10.0.0.2', port: 4433 }], multiaddrs: [relayed, '/ip4/10.0.0.2/tcp/4001'] })
    assert.deepEqual(ticket.multiaddrs.map(String), ['/ip4/10.0.0.2/tcp/4001', relayed])
    const back = BlobTicket.parse(ticket.toString())
    assert.deepEqual(back.multiaddrs.map(String), ticket.multiaddrs.map(String))
    assert.deepEqual(back.addrs, ticket.addrs)
    assert.deepEqual(back.toBytes(), ticket.toBytes())
    // The iroh layout comes first, unchanged: a reader that stops after the hash sees the same ticket.
    const plain = new BlobTicket({ nodeId: id, hash, addrs: [{ ip: '10.0.0.2', port: 4433 }] }).toBytes()
    assert.deepEqual(ticket.toBytes().subarray(0, plain.length), plain)
  })

  it('drops the node\'s own /p2p/ (the relay\'s stays) and duplicates', () => {
    const peer = resolvePeer(new BlobTicket({ nodeId: id, hash, multiaddrs: [] })).id
    const ticket = new BlobTicket({ nodeId: id, hash, multiaddrs: [`${relayed}/p2p/${peer}`, relayed, `/ip4/1.2.3.4/tcp/1/p2p/${peer}`] })
    assert.deepEqual(ticket.multiaddrs.map(String), ['/ip4/1.2.3.4/tcp/1', relayed])
    // Dialled with the node's id again, relayed last.
    assert.deepEqual(resolvePeer(ticket).addrs.map(String), [`/ip4/1.2.3.4/tcp/1/p2p/${peer}`, `${relayed}/p2p/${peer}`])
  })

  it('bounds what it carries and rejects a trailer that does not decode', () => {
    const many = Array.from({ length: MAX_TICKET_MULTIADDRS + 1 }, (_, i) => `/ip4/1.2.3.4/tcp/${i + 1}`)
    assert.throws(() => new BlobTicket({ nodeId: id, hash, multiaddrs: many }), RangeError)
    const bytes = new BlobTicket({ nodeId: id, hash, multiaddrs: ['/ip4/1.2.3.4/tcp/1'] }).toBytes()
    assert.throws(() => BlobTicket.fromBytes(bytes.subarray(0, bytes.length - 2)), InvalidTicket)
    // The trailer's one address: /ip4/ with 2 of its 4 bytes.
    const plain = new BlobTicket({ nodeId: id, hash }).toBytes()
    assert.throws(() => BlobTicket.fromBytes(Uint8Array.from([...plain, 0x76, 0x61, 0x01, 1, 3, 0x04, 1, 2])), InvalidTicket)
    // Other bytes after the hash are still ignored.
    assert.deepEqual(BlobTicket.fromBytes(Uint8Array.from([...plain, 0x76, 0x62])).multiaddrs, [])
  })

  it('takes QUIC socket addresses and other addresses apart, a relayed QUIC address among the others', () => {
    const addrs = ['/ip4/10.0.0.2/udp/4433/quic-v1', '/ip4/10.0.0.2/tcp/4001', `/ip4/7.0.1.1/udp/4001/quic-v1/p2p/${relayId}/p2p-circuit`, '/ip4/10.0.0.2/tcp/4002/ws'].map(a => multiaddr(a))
    assert.deepEqual(quicAddrs(addrs), [{ ip: '10.0.0.2', port: 4433 }])
    assert.deepEqual(otherAddrs(addrs).map(String), ['/ip4/10.0.0.2/tcp/4001', `/ip4/7.0.1.1/udp/4001/quic-v1/p2p/${relayId}/p2p-circuit`])
  })
})

describe('--relay and --relay-via', () => {
  const flags = { ...RELAY_FLAGS, ...RELAY_VIA_FLAG }
  it('reads the relay\'s limits and the relays to reserve on; usage errors for the rest', () => {
    assert.equal(reachabilityOf(parseArgs([], flags)), undefined)
    assert.deepEqual(reachabilityOf(parseArgs(['--relay', '--relay-max-bytes', '16M', '--relay-max-duration', '2m', '--relay-max-reservations', '3'], flags)),
      { relay: { maxReservations: 3, maxBytesPerConnection: 16 << 20, maxDurationMs: 120_000 } })
    assert.deepEqual(reachabilityOf(parseArgs(['--relay-via', `/ip4/7.0.1.1/tcp/4001/p2p/${relayId}`], flags)), { relayVia: [`/ip4/7.0.1.1/tcp/4001/p2p/${relayId}`] })
    for (const bad of [['--relay-max-bytes', '1M'], ['--relay', '--relay-max-bytes', 'lots'], ['--relay', '--relay-max-reservations', '0'], ['--relay-via', '/ip4/7.0.1.1/tcp/4001'], ['--relay-via', 'relay.example']]) {
      assert.throws(() => reachabilityOf(parseArgs(bad, flags)), (err: Error) => err.name === 'UsageError', bad.join(' '))
    }
    assert.deepEqual(relayListenAddrs([`/ip4/7.0.1.1/tcp/4001/p2p/${relayId}`]), [`/ip4/7.0.1.1/tcp/4001/p2p/${relayId}/p2p-circuit`])
    assert.throws(() => relaySettings({ maxBytesPerConnection: -1 }), RangeError)
  })
})
