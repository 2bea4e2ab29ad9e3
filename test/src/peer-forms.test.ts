import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, type VerityNode } from '../../src/node/create-node.js'
import { InvalidPeer, resolvePeer, type PeerTarget } from '../../src/net/peer.js'
import { BlobTicket, InvalidTicket } from '../../src/ticket.js'
import type { DownloadProgress } from '../../src/downloader/interface.js'
import { blake3 } from '../../store/bao/hash.js'
import { randomBytes, rejection } from '../helpers.js'

/**
 * Every form of peer the README and the types admit, given to Remote.fetch and to the
 * Downloader against a real node over QUIC and TCP on 127.0.0.1; and what a bad one gives.
 */
describe('peers in every form: tickets (text or parsed), multiaddrs, peer ids with addresses', function () {
  this.timeout(60000)
  let provider: VerityNode
  let fetcher: VerityNode
  let seed = 1

  before(async () => {
    provider = await createNode()
    fetcher = await createNode()
  })
  after(async () => {
    await fetcher?.stop()
    await provider?.stop()
  })

  /** A blob only the provider has, so each form really fetches. */
  async function fresh (): Promise<{ hash: Uint8Array, data: Uint8Array }> {
    const data = randomBytes(40000 + seed, seed++)
    const { hash } = await provider.blobs.addBytes(data)
    return { hash, data }
  }

  function addr (transport: 'quic-v1' | 'tcp'): string {
    const found = provider.addrs().map(String).find(a => a.includes(transport === 'tcp' ? '/tcp/' : '/quic-v1'))
    assert.ok(found !== undefined, `the provider listens on ${transport}`)
    return found
  }

  /** Each form, made for one blob (a ticket names the blob it is for). */
  function forms (hash: Uint8Array): Array<[string, PeerTarget]> {
    const ticket = provider.ticket(hash)
    const bare = (text: string): string => text.replace(/\/p2p\/.*$/, '')
    return [
      ['a BlobTicket', ticket],
      ['ticket text', ticket.toString()],
      ['ticket text pasted with a newline and spaces', `  ${ticket.toString()}\n`],
      ['ticket text in upper case', ticket.toString().toUpperCase()],
      ['QUIC multiaddr text', addr('quic-v1')],
      ['TCP multiaddr, parsed', multiaddr(addr('tcp'))],
      ['peer id text with addresses without /p2p', { peerId: provider.peerId, addrs: [bare(addr('tcp'))] }],
      ['PeerId with parsed addresses', { peerId: peerIdFromString(provider.peerId), addrs: [multiaddr(addr('quic-v1'))] }]
    ]
  }

  it('Remote.fetch takes each form', async () => {
    const { hash } = await fresh()
    for (const [name, target] of forms(hash)) {
      const { hash: each, data } = await fresh()
      const result = await fetcher.remote.fetch(target, each)
      assert.equal(result.complete, true, name)
      assert.equal(result.bytesWritten, data.length, `${name}: fetched, not found locally`)
      assert.deepEqual(blake3(await fetcher.blobs.getBytes(each)), each, name)
    }
  })

  it('a ticket alone says what to fetch, as text too', async () => {
    const { hash, data } = await fresh()
    const result = await fetcher.remote.fetch(provider.ticket(hash).toString() + '\n')
    assert.equal(result.bytesWritten, data.length)
  })

  it('the Downloader takes each form, and a bare peer id once libp2p knows its addresses', async () => {
    const { hash } = await fresh()
    const all: Array<[string, PeerTarget]> = [...forms(hash), ['PeerId alone (known from the connections above)', peerIdFromString(provider.peerId)]]
    for (const [name, target] of all) {
      const { hash: each, data } = await fresh()
      const result = await fetcher.downloader.download({ request: each, providers: [target] })
      assert.equal(result.bytes, data.length, name)
      assert.equal(result.localBytes, 0, name)
      assert.deepEqual(Object.keys(result.providers), [provider.peerId], name)
    }
  })

  it('a bad peer is a named error that says what was given, before anything starts', async () => {
    const { hash } = await fresh()
    const good = provider.ticket(hash).toString()
    const bad: Array<[unknown, string, RegExp]> = [
      ['nonsense', 'InvalidPeer', /not a peer id, a multiaddr .* or a ticket .*: nonsense/],
      ['', 'InvalidPeer', /empty string/],
      ['blob!!!!', 'InvalidTicket', /base32/],
      [good.slice(0, 30), 'InvalidTicket', /does not decode|not valid base32/], // cut mid-character or mid-field
      ['/ip4/127.0.0.1/tcp/1', 'InvalidPeer', /must end in \/p2p\/<peer id>/],
      ['/ip4/999.0.0.1/tcp/1', 'InvalidPeer', /not a multiaddr: \/ip4\/999/],
      [42, 'InvalidPeer', /got number/],
      [null, 'InvalidPeer', /got null/],
      [{ peerId: 'x', addrs: [] }, 'InvalidPeer', /not a peer id.*: x/],
      [{ peerId: provider.peerId, addrs: 'a string' }, 'InvalidPeer', /addrs must be an array/],
      [{ peerId: provider.peerId, addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${fetcher.peerId}`] }, 'InvalidPeer', /names peer .*, not /],
      [{ hash }, 'InvalidPeer', /got an object with keys \["hash"\]/]
    ]
    for (const [target, name, message] of bad) {
      const what = JSON.stringify(target)
      assert.throws(() => resolvePeer(target as PeerTarget), (err: Error) => err.name === name && message.test(err.message), `resolvePeer(${what})`)
      const fetched = await rejection(() => fetcher.remote.fetch(target as PeerTarget, hash))
      assert.equal(fetched.name, name, `fetch(${what}): ${fetched.message}`)
      assert.match(fetched.message, message)
      // A list given up front fails the call at once, naming the entry, not "no providers".
      assert.throws(() => fetcher.downloader.download({ request: hash, providers: [provider.ticket(hash), target as PeerTarget] }),
        (err: Error) => err.name === name && message.test(err.message), `download(${what})`)
    }
    assert.ok(new InvalidPeer('x') instanceof Error)
    assert.ok(new InvalidTicket() instanceof Error)
  })

  it('a bad entry of an async provider source is reported and skipped; the good ones deliver', async () => {
    const { hash, data } = await fresh()
    const ticket = provider.ticket(hash)
    async function * found (): AsyncGenerator<PeerTarget> {
      yield 'not-a-peer'
      yield ticket
    }
    const items: DownloadProgress[] = []
    const result = await fetcher.downloader.download({ request: hash, providers: found(), onProgress: item => { items.push(item) } })
    assert.equal(result.bytes, data.length)
    const refused = items.find(i => i.type === 'download:provider-failed' && i.detail.provider === 'providers')
    assert.ok(refused?.type === 'download:provider-failed' && refused.detail.error.name === 'InvalidPeer', JSON.stringify(items.map(i => i.type)))
  })

  it('typed progress events with totals: download:progress reaches its total', async () => {
    const { hash, data } = await fresh()
    const items: DownloadProgress[] = []
    const handle = fetcher.downloader.download({ request: hash, providers: [provider.ticket(hash)] })
    for await (const item of handle) items.push(item)
    const types = new Set(items.map(i => i.type))
    assert.ok(types.has('download:try-provider') && types.has('download:part-complete') && types.has('download:progress'), [...types].join())
    for (const item of items) assert.ok('detail' in item && typeof item.detail === 'object', `${item.type} has a detail`)
    const last = items.filter(i => i.type === 'download:progress').at(-1)
    assert.ok(last?.type === 'download:progress')
    const { received, ...verified } = last.detail
    assert.deepEqual(verified, { bytes: data.length, total: data.length })
    assert.deepEqual(Object.keys(received ?? {}), [provider.peerId], 'the bytes received, by provider')
    assert.ok((received?.[provider.peerId] ?? 0) >= data.length, 'every byte came from the one provider')
  })

  it('a TCP-only node makes a ticket with its TCP address, which fetches; a node listening on nothing refuses, naming that', async () => {
    const tcpOnly = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    const nowhere = await createNode({ listen: [] })
    try {
      const data = randomBytes(100, 9)
      const { hash } = await tcpOnly.blobs.addBytes(data)
      const ticket = tcpOnly.ticket(hash)
      assert.deepEqual(ticket.addrs, [])
      assert.deepEqual(ticket.multiaddrs.map(String), tcpOnly.addrs().map(a => a.decapsulateCode(421).toString()))
      const parsed = BlobTicket.parse(ticket.toString())
      assert.deepEqual(parsed.multiaddrs.map(String), ticket.multiaddrs.map(String))
      const result = await fetcher.remote.fetch(ticket.toString())
      assert.equal(result.complete, true)
      assert.deepEqual(await fetcher.blobs.getBytes(hash), data)
      assert.throws(() => nowhere.ticket(hash), (err: Error) => err instanceof InvalidTicket && /no ticket without an address/.test(err.message) && /listens on nothing/.test(err.message))
    } finally {
      await tcpOnly.stop()
      await nowhere.stop()
    }
  })

  it('a ticket string parses back to the same ticket the node made', () => {
    const ticket = provider.ticket(blake3(new Uint8Array(1)), 'hashseq')
    const parsed = BlobTicket.parse(`\t${ticket.toString()}\r\n`)
    assert.deepEqual(parsed.toBytes(), ticket.toBytes())
    assert.equal(resolvePeer(ticket.toString()).id, provider.peerId)
  })
})
