import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'
import { createNode, type NodeLimits, type VerityNode } from '../../../src/node/create-node.js'
import { byteStream } from '../../../src/net/stream.js'
import { VERITY_PROTOCOL } from '../../../protocol/constants.js'
import type { ProviderEvent } from '../../../protocol/interface.js'
import { RangeSpecSeq } from '../../../protocol/range-spec.js'
import { encodeRequest } from '../../../protocol/request.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { randomBytes } from '../../helpers.js'
import { ask } from './attack-tools.js'

const MIB = 1 << 20

/** A provider whose every response piece (256 KiB) waits `delayMs`: requests stay in flight a while. */
async function slowProvider (limits: NodeLimits, delayMs = 150): Promise<{ node: VerityNode, hash: Uint8Array, addr: string, events: ProviderEvent[] }> {
  const events: ProviderEvent[] = []
  const node = await createNode({
    limits,
    provide: { throttleSend: async () => { await new Promise(resolve => setTimeout(resolve, delayMs)) } },
    onEvent: event => { events.push(event) }
  })
  const { hash } = await node.blobs.addBytes(randomBytes(MIB, 61))
  return { node, hash, addr: String(node.addrs().find(a => a.toString().includes('/quic-v1'))), events }
}

/** Outcome names of `count` whole-blob Gets started at once, each a chunk range of its own (no sharing). */
async function fetchAll (requesters: VerityNode[], addr: string, hash: Uint8Array, count: number): Promise<string[]> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const requester = requesters[i % requesters.length] as VerityNode
    try {
      await requester.remote.executeGet(addr, { hash, ranges: RangeSpecSeq.root(ChunkRanges.range(i, 1024)) })
      return 'ok'
    } catch (err) {
      return (err as Error).name
    }
  }))
}

const tally = (names: string[]): Record<string, number> => names.reduce<Record<string, number>>((t, n) => { t[n] = (t[n] ?? 0) + 1; return t }, {})

describe('serving limits per peer and per node (QUIC on 127.0.0.1)', function () {
  this.timeout(60000)
  const nodes: VerityNode[] = []
  const make = async (): Promise<VerityNode> => { const node = await createNode(); nodes.push(node); return node }
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('a peer gets its share of places, then a bounded queue, then RateLimited; its connection stays up', async () => {
    const provider = await slowProvider({ maxRequestsPerPeer: 2, maxQueuedRequests: 3 })
    nodes.push(provider.node)
    const requester = await make()
    const outcomes = await fetchAll([requester], provider.addr, provider.hash, 8)
    assert.deepEqual(tally(outcomes), { ok: 5, RateLimited: 3 }, outcomes.join(' '))
    // Refused, not cut off: the same connection serves the next request.
    assert.deepEqual(await fetchAll([requester], provider.addr, provider.hash, 1), ['ok'])
    assert.equal(provider.node.libp2p.getConnections().length, 1)
  })

  it('the node\'s places are shared by all peers, with one queue for all', async () => {
    const provider = await slowProvider({ maxRequests: 2, maxQueuedRequests: 2 })
    nodes.push(provider.node)
    const requesters = [await make(), await make(), await make()]
    const outcomes = await fetchAll(requesters, provider.addr, provider.hash, 6)
    assert.deepEqual(tally(outcomes), { ok: 4, RateLimited: 2 }, outcomes.join(' '))
    // The provider lets go of a place just after its last byte left: give it a moment.
    const service = provider.node.libp2p.services.blobs.provider
    for (let i = 0; i < 50 && service.load().requests > 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(service.load(), { requests: 0, queued: 0, observers: 0, requestBytes: 0 }, 'every place given back')
  })

  it('observers beyond the limit are refused with RateLimited', async () => {
    const provider = await slowProvider({ maxObservers: 2 })
    nodes.push(provider.node)
    const requester = await make()
    const watching = new AbortController()
    const observe = async (): Promise<string> => {
      try {
        for await (const _ of requester.remote.observe(provider.addr, provider.hash, ChunkRanges.all(), { signal: watching.signal })) return 'ok'
        return 'ended'
      } catch (err) { return (err as Error).name }
    }
    // Two stay open (the iteration is left suspended), the third is refused.
    const first = requester.remote.observe(provider.addr, provider.hash, ChunkRanges.all(), { signal: watching.signal })[Symbol.asyncIterator]()
    const second = requester.remote.observe(provider.addr, provider.hash, ChunkRanges.all(), { signal: watching.signal })[Symbol.asyncIterator]()
    await first.next()
    await second.next()
    assert.equal(await observe(), 'RateLimited')
    watching.abort()
    await Promise.allSettled([first.return?.(undefined), second.return?.(undefined)])
  })

  it('a peer whose observers are all taken makes room by ending its quietest one, once it has been quiet long enough', async () => {
    const provider = await slowProvider({ maxObserversPerPeer: 2, observerQuietMs: 300 })
    nodes.push(provider.node)
    const requester = await make()
    const absent = randomBytes(32, 64)
    const watch = (): { first: Promise<string>, end: Promise<string> } => {
      const iterator = requester.remote.observe(provider.addr, absent)[Symbol.asyncIterator]()
      const first = iterator.next().then(() => 'ok', (err: Error) => err.name)
      const end = first.then(async () => await iterator.next()).then(() => 'ended', (err: Error) => err.name)
      return { first, end }
    }
    const [a, b] = [watch(), watch()]
    assert.deepEqual([await a.first, await b.first], ['ok', 'ok'])
    assert.equal(await watch().first, 'RateLimited', 'both quiet for less than observerQuietMs: refused')
    await new Promise(resolve => setTimeout(resolve, 400))
    const c = watch()
    assert.equal(await c.first, 'ok', 'room made')
    // The quietest of the two (whichever sent its first message first) was ended, and told why.
    assert.equal(await Promise.race([a.end, b.end]), 'RateLimited')
    assert.equal(provider.node.libp2p.services.blobs.provider.load().observers, 2)
  })

  it('requests being read share a node-wide byte budget: past it, RateLimited before the rest is read', async () => {
    const provider = await slowProvider({ maxRequestBytesInFlight: 64 * 1024, maxRequestBytesPerPeer: 64 * 1024 })
    nodes.push(provider.node)
    const requester = await make()
    const connection: Connection = await requester.libp2p.dial(multiaddr(provider.addr))
    // Three GetMany requests of 40 KiB, each 36 KiB of it written (no close): the first fits the budget.
    const body = encodeRequest({ type: 'getMany', hashes: Array.from({ length: 1250 }, () => provider.hash), ranges: RangeSpecSeq.all() })
    const streams = await Promise.all([0, 1, 2].map(async () => byteStream(await connection.newStream(VERITY_PROTOCOL))))
    for (const stream of streams) await stream.write(body.subarray(0, 36 * 1024))
    await new Promise(resolve => setTimeout(resolve, 300))
    const refused = provider.events.filter(e => e.type === 'aborted' && e.error.name === 'RateLimited')
    assert.equal(refused.length, 2, JSON.stringify(provider.events.map(e => e.type === 'aborted' ? e.error.name : e.type)))
    for (const stream of streams) stream.abort(new Error('test done'))
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.equal(provider.node.libp2p.services.blobs.provider.load().requestBytes, 0, 'bytes given back when the streams went')
    // A small request is served once the budget has room.
    assert.match((await ask(connection, encodeRequest({ type: 'get', request: { hash: provider.hash, ranges: RangeSpecSeq.root(ChunkRanges.chunk(0)) } }))).tail, /\x00\x00\x00$/)
  })

  it('a request holds its bytes of the budget while it waits for a place and while it is served', async () => {
    const provider = await slowProvider({ maxRequestsPerPeer: 1 }, 300)
    nodes.push(provider.node)
    const requester = await make()
    const service = provider.node.libp2p.services.blobs.provider
    const big = { type: 'getMany' as const, hashes: Array.from({ length: 1000 }, () => provider.hash), ranges: RangeSpecSeq.fromRanges([ChunkRanges.chunk(0)]) }
    const size = encodeRequest(big).length
    const first = requester.remote.executeGet(provider.addr, { hash: provider.hash, ranges: RangeSpecSeq.root() })
    await new Promise(resolve => setTimeout(resolve, 200))
    const second = requester.remote.executeGetMany(provider.addr, big.hashes, big.ranges)
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.equal(service.load().queued, 1, 'the GetMany waits behind the Get')
    assert.ok(service.load().requestBytes >= size, `${service.load().requestBytes} bytes held, the waiting request is ${size}`)
    await Promise.all([first, second])
    for (let i = 0; i < 50 && service.load().requestBytes > 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(service.load().requestBytes, 0)
  })

  it('a requester that stops reading is reset after sendTimeoutMs (Timeout), and its place is free again', async () => {
    const events: ProviderEvent[] = []
    const provider = await createNode({ limits: { sendTimeoutMs: 500, maxRequestsPerPeer: 1 }, onEvent: e => { events.push(e) } })
    nodes.push(provider)
    const { hash } = await provider.blobs.addBytes(randomBytes(48 * MIB, 62))
    const addr = String(provider.addrs().find(a => a.toString().includes('/quic-v1')))
    const requester = await make()
    const connection = await requester.libp2p.dial(multiaddr(addr))
    const stream = byteStream(await connection.newStream(VERITY_PROTOCOL))
    await stream.write(encodeRequest({ type: 'get', request: { hash, ranges: RangeSpecSeq.root() } }))
    await stream.closeWrite()
    // Read nothing: flow control fills, the provider's writes wait, then it gives up.
    const started = performance.now()
    while (!events.some(e => e.type === 'aborted') && performance.now() - started < 20000) await new Promise(resolve => setTimeout(resolve, 100))
    const aborted = events.find(e => e.type === 'aborted') as Extract<ProviderEvent, { type: 'aborted' }> | undefined
    assert.equal(aborted?.error.name, 'Timeout', aborted?.error.message)
    const result = await requester.remote.fetch(addr, hash, { range: { offset: 0, length: 1000 } })
    assert.equal(result.complete, true, 'the peer\'s one place is free again')
    stream.abort(new Error('test done'))
  })

  it('Remote.fetch and the Downloader split a blob too fragmented for one request into several', async () => {
    const source = await make()
    const data = randomBytes(10 * MIB, 63)
    const { hash } = await source.blobs.addBytes(data)
    const addr = String(source.addrs().find(a => a.toString().includes('/quic-v1')))
    for (const via of ['fetch', 'download'] as const) {
      const node = await make()
      // Every other chunk already here: 5,120 missing ranges, more than one RangeSpec may hold.
      const present = ChunkRanges.fromBoundaries(Array.from({ length: 10 * 1024 }, (_, i) => i))
      await node.blobs.importBao(hash, present, source.blobs.exportBao(hash, present))
      assert.equal((await node.blobs.bitfield(hash)).ranges.rangeCount, 5 * 1024)
      if (via === 'fetch') assert.equal((await node.remote.fetch(addr, hash)).complete, true)
      else await node.downloader.download({ request: hash, providers: [addr] })
      assert.ok(Buffer.from(await node.blobs.getBytes(hash)).equals(data), via)
    }
  })
})
