import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { VERITY_KAD_PROTOCOL } from '../../../src/discovery/constants.js'
import { createNode, type NodeOptions, type VerityNode } from '../../../src/node/create-node.js'
import { randomBytes } from '../../helpers.js'
import { announced, foundProviders } from './found-providers.js'

const MIB = 1 << 20

/** Protobuf, by hand, as kad-dht's dht.proto lays it out: a varint, a length-delimited field. */
function varint (value: number): number[] {
  const out: number[] = []
  while (value >= 0x80) { out.push((value & 0x7f) | 0x80); value >>>= 7 }
  out.push(value)
  return out
}
function field (no: number, bytes: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint((no << 3) | 2), ...varint(bytes.length), ...bytes])
}
function concat (parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap(p => [...p]))
}
/** PeerInfo { id = 1; repeated multiaddrs = 2 } */
function peerInfo (id: Uint8Array, addrs: Uint8Array[]): Uint8Array {
  return concat([field(1, id), ...addrs.map(a => field(2, a))])
}
/** A GET_PROVIDERS (3) answer: `providers` (field 9) and `closer` (field 8), length-prefixed. */
function providersAnswer (key: Uint8Array, providers: Uint8Array[], closer: Uint8Array[]): Uint8Array {
  const message = concat([Uint8Array.from([0x08, 3]), field(2, key), ...closer.map(c => field(8, c)), ...providers.map(p => field(9, p))])
  return Uint8Array.from([...varint(message.length), ...message])
}

/** The key (field 2) of a length-prefixed kad request; empty if it has none. */
function keyOf (request: Uint8Array): Uint8Array {
  const read = (at: number): [number, number] => {
    let value = 0
    let shift = 0
    while (at < request.length) {
      const b = request[at++] as number
      value += (b & 0x7f) * 2 ** shift
      shift += 7
      if (b < 0x80) break
    }
    return [value, at]
  }
  let [, at] = read(0) // the length prefix
  while (at < request.length) {
    const [tag, next] = read(at)
    at = next
    if ((tag & 7) === 0) { at = read(at)[1]; continue }
    if ((tag & 7) !== 2) break
    const [length, start] = read(at)
    if (tag >>> 3 === 2) return request.subarray(start, start + length)
    at = start + length
  }
  return new Uint8Array(0)
}

/**
 * DHT peers that answer every kad request with lies: random bytes (no kad message at all), or a
 * well-formed answer naming 40 providers that do not exist, at addresses that never answer (a
 * TCP listener on 127.0.0.1 that accepts and stays silent), that refuse, or that are no address
 * at all (garbage bytes where a multiaddr goes). Real nodes beside them hold and announce the blob.
 */
describe('discovery: DHT peers that answer with garbage or with providers at dead addresses', function () {
  this.timeout(120_000)
  const nodes: VerityNode[] = []
  const dht = { selfQueryIntervalMs: 500, scanIntervalMs: 200, announceTimeoutMs: 5000, lookupTimeoutMs: 10000 }
  let silent: Server
  const held: Socket[] = []
  let hub: VerityNode

  const join = async (options: NodeOptions = {}): Promise<VerityNode> => {
    const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], ...options, dht: { ...dht, bootstrap: hub === undefined ? [] : [hub.addrs()[0]?.toString() as string], ...options.dht } })
    nodes.push(node)
    return node
  }

  /** A DHT server whose kad protocol answers `answer(request)` to every request. */
  const liar = async (answer: (request: Uint8Array) => Promise<Uint8Array>): Promise<VerityNode> => {
    const node = await join()
    await node.libp2p.unhandle(VERITY_KAD_PROTOCOL)
    await node.libp2p.handle(VERITY_KAD_PROTOCOL, async stream => {
      try {
        let request: Uint8Array = new Uint8Array(0)
        for await (const chunk of stream) {
          request = concat([request, chunk instanceof Uint8Array ? chunk : chunk.subarray()])
          if (request.length > 2 && request.length >= (request[0] as number) + 1) break // kad's requests here are short
        }
        stream.send(await answer(request))
        await stream.close()
      } catch {
        stream.abort(new Error('liar done'))
      }
    })
    return node
  }

  before(async () => {
    silent = createServer(socket => { held.push(socket); socket.on('error', () => {}) })
    await new Promise<void>(resolve => { silent.listen(0, '127.0.0.1', resolve) })
    hub = await join()
  })
  after(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    for (const socket of held) socket.destroy()
    await new Promise(resolve => silent.close(resolve))
  })

  it('the fetch completes from the real providers, verified, within the download\'s timeout; the dead ones cost failed dials', async () => {
    const port = (silent.address() as { port: number }).port
    const deadAddrs: Uint8Array[] = [
      multiaddr(`/ip4/127.0.0.1/tcp/${port}`).bytes, // accepts, never speaks
      multiaddr('/ip4/127.0.0.1/tcp/1').bytes // refuses
    ]
    const ghosts = await Promise.all(Array.from({ length: 40 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const lies = ghosts.map((id, i) => peerInfo(id.toMultihash().bytes, [deadAddrs[i % deadAddrs.length] as Uint8Array]))
    const junkAddrs = ghosts.slice(0, 5).map((id, i) => peerInfo(id.toMultihash().bytes, [randomBytes(40, 50 + i)]))
    const asked = [0, 0, 0]
    // The holders announce first: what is tested is the lookup among liars, not announcing.
    const bytes = randomBytes(4 * MIB, 31)
    // Slow holders (a few seconds for the blob), so the lookup goes on among the liars meanwhile.
    const slow = { provide: { throttleSend: async () => { await new Promise(resolve => setTimeout(resolve, 10)) } } }
    const holders = [await join(slow), await join(slow)]
    const added = await Promise.all(holders.map(async holder => await holder.blobs.addBytes(bytes)))
    const hash = (added[0] as { hash: Uint8Array }).hash
    await announced(holders, hash, 60_000)
    // Noise; a well-formed answer full of lies (its key echoes the request's); one whose addresses are not multiaddrs.
    await liar(async () => { asked[0]!++; return randomBytes(300, asked[0]!) })
    await liar(async request => { asked[1]!++; return providersAnswer(keyOf(request), lies, lies.slice(0, 10)) })
    await liar(async request => { asked[2]!++; return providersAnswer(keyOf(request), junkAddrs, junkAddrs) })
    const client = await join({ dht: { mode: 'client' }, downloader: { maxStripeBytes: MIB }, pool: { connectTimeoutMs: 3000 } })
    const { providers, found, stop } = foundProviders(client, hash)
    const result = await client.downloader.download({ request: hash, providers, strategy: 'split', timeoutMs: 60_000 })
    stop()
    assert.ok(Buffer.from(await client.blobs.getBytes(hash)).equals(Buffer.from(bytes)), 'the bytes added, verified')
    assert.ok(asked.every(n => n > 0), `each liar was asked: ${asked.join(', ')}`)
    const delivered = holders.reduce((sum, h) => sum + (result.providers[h.peerId]?.bytes ?? 0), 0)
    assert.equal(delivered, 4 * MIB, `the real holders delivered it all: ${JSON.stringify(result.providers)}`)
    const ghostsTried = ghosts.map(String).filter(id => found.includes(id))
    // At most maxProvidersPerPeer (4) from each of the two liars whose answers parse: 40 lies could
    // otherwise fill the lookup's 20 before the real holders came (a run did, and timed out).
    assert.ok(ghostsTried.length <= 8, `${ghostsTried.length} ghosts taken`)
    console.log(`      liars asked ${asked.join(', ')} times; ${found.length} providers found, ${ghostsTried.length} of them ghosts; ${JSON.stringify(Object.fromEntries(Object.entries(result.providers).map(([k, v]) => [k.slice(-6), v.bytes])))}`)
  })
})
