/**
 * The hole-punching probe (docs/reachability.md, "Hole punching"): plain libp2p nodes, no verity,
 * each run in a network namespace by nat.test.ts. `relay` is a circuit relay on port 4001;
 * `listen <public ip>` reserves a slot on it and announces its NAT's public address with its own
 * listen ports (as if AutoNAT had confirmed them: the best case for DCUtR); `dial <public ip>
 * <circuit addr>` connects through the relay and waits for DCUtR to upgrade the connection. Each
 * prints one JSON line on stdout.
 */
import '../../../../src/node/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { identify } from '@libp2p/identify'
import type { Connection } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const [role, ip, target, relayAddr] = process.argv.slice(2) as [string, string | undefined, string | undefined, string | undefined]
const PORT = role === 'relay' ? 4001 : 4101
const relay = role === 'relay' ? { relay: circuitRelayServer({ reservations: { applyDefaultLimit: false } }) } : {}
const node = await createLibp2p({
  addresses: {
    listen: [`/ip4/0.0.0.0/tcp/${PORT}`, `/ip4/0.0.0.0/udp/${PORT}/quic-v1`, ...(role === 'listen' && relayAddr !== undefined ? [`${relayAddr}/p2p-circuit`] : [])],
    // PROBE_TRANSPORT=tcp or quic announces that one alone (libp2p tries QUIC first, within DCUtR's timeout).
    ...(ip === undefined ? {} : { appendAnnounce: [`/ip4/${ip}/tcp/${PORT}`, `/ip4/${ip}/udp/${PORT}/quic-v1`].filter(a => process.env.PROBE_TRANSPORT === undefined || a.includes(process.env.PROBE_TRANSPORT === 'tcp' ? '/tcp/' : '/quic-v1')) })
  },
  transports: [tcp(), quic(), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), dcutr: dcutr(), ...relay }
})
const say = (value: object): void => { process.stdout.write(JSON.stringify(value) + '\n') }
const describe = (c: Connection): string => `${c.direction} ${c.remoteAddr.toString()}${c.limits === undefined ? '' : ' (limited)'}`
node.addEventListener('connection:open', event => { say({ event: 'open', connection: describe(event.detail) }) })
if (role !== 'dial') {
  say({ ready: true, peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
} else {
  const conn = await node.dial(multiaddr(target as string))
  say({ event: 'dialled', connection: describe(conn) })
  const deadline = Date.now() + 15_000
  let direct: Connection | undefined
  while (Date.now() < deadline && direct === undefined) {
    await new Promise(resolve => setTimeout(resolve, 250))
    direct = node.getConnections(conn.remotePeer).find(c => c.limits === undefined && !c.remoteAddr.toString().includes('p2p-circuit'))
  }
  say({ direct: direct !== undefined, connections: node.getConnections(conn.remotePeer).map(describe) })
  await node.stop()
  process.exit(0)
}
