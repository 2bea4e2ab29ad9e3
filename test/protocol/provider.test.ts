import assert from 'node:assert/strict'
import { RateLimited } from '../../protocol/errors.js'
import { runToStore } from '../../protocol/get/import.js'
import { AtInitial } from '../../protocol/get/machine.js'
import type { ProviderEvent, ProviderPolicy } from '../../protocol/interface.js'
import { observeFrom } from '../../protocol/observe.js'
import { Provider, type ProviderInit } from '../../protocol/provider/provider.js'
import { pushTo, type PushStats } from '../../protocol/push.js'
import { RangeSpecSeq } from '../../protocol/range-spec.js'
import { encodeRequest, type Request } from '../../protocol/request.js'
import { Status } from '../../protocol/status.js'
import { computeOutboard } from '../../store/bao/outboard.js'
import { encodeHashSeq } from '../../store/collection.js'
import { MemStore } from '../../store/mem-store.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { concat, randomBytes, rejection } from '../helpers.js'
import { linkToProvider } from './link.js'
import { streamPair, type PairEnd, type PairOptions } from './stream-pair.js'

const KiB = 1024
const GROUP = 16 * KiB

const small = randomBytes(3000, 31)
const smallHash = computeOutboard(small).hash
const empty = new Uint8Array(0)
const emptyHash = computeOutboard(empty).hash
/** 100 KiB, seven groups (PROTOCOL.md section 2's worked example). */
const data = randomBytes(100 * KiB, 32)
const { hash, outboard } = computeOutboard(data)
const pair = (i: number): Uint8Array => outboard.subarray(i * 64, (i + 1) * 64)
const group = (g: number): Uint8Array => data.subarray(g * GROUP, Math.min(data.length, (g + 1) * GROUP))
const missing = randomBytes(32, 33)

function sizeHeader (size: number): Uint8Array {
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, BigInt(size), true)
  return header
}

const get = (h: Uint8Array, ranges = RangeSpecSeq.root()): Request => ({ type: 'get', request: { hash: h, ranges } })
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** What came back on one stream, read to its end. */
interface Answer {
  /** Every byte the provider sent. */
  bytes: Uint8Array
  /** The reset that ended the stream, if it did not end cleanly. */
  reset: Error | undefined
  /** The ends of the pair, and what served it. */
  requester: PairEnd
  provider: PairEnd
  served: Promise<void>
}

/** The parts of a framed response, parsed here by hand (docs/PROTOCOL.md, "Framed responses"). */
interface Framed { payload: Uint8Array, frames: number, status: number, message: string }

function parseFramed (bytes: Uint8Array): Framed {
  let at = 0
  const varint = (): number => {
    let value = 0
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++]
      assert.ok(byte !== undefined, 'the response ends inside a varint')
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
    }
  }
  const payload: Uint8Array[] = []
  while (true) {
    const length = varint()
    if (length === 0) break
    assert.ok(at + length <= bytes.length, 'a frame runs past the end')
    payload.push(bytes.subarray(at, at + length))
    at += length
  }
  const status = bytes[at++]
  assert.ok(status !== undefined, 'no status after the end frame marker')
  const messageLength = varint()
  const message = new TextDecoder().decode(bytes.subarray(at, at + messageLength))
  at += messageLength
  assert.equal(at, bytes.length, 'nothing after the end frame')
  return { payload: concat(payload), frames: payload.length, status, message }
}

describe('provider over an in-memory pair', () => {
  let store: MemStore
  let events: ProviderEvent[]
  let provider: Provider
  const make = (init: Omit<ProviderInit, 'store' | 'onEvent'> = {}): Provider => {
    provider = new Provider({ store, onEvent: e => events.push(e), ...init })
    return provider
  }

  /** Open a stream to the provider, send `request` (and close, unless told not to), read all that comes back. */
  async function ask (request: Uint8Array, options: { framed: boolean, peer?: string, connectionId?: string, close?: boolean, pair?: PairOptions }): Promise<Answer> {
    const [requester, providerEnd] = streamPair(options.pair)
    const served = provider.serve(providerEnd.stream, { peer: options.peer ?? 'peer-a', connectionId: options.connectionId ?? 'conn-1', framed: options.framed })
    await requester.stream.write(request)
    if (options.close !== false) await requester.stream.closeWrite()
    const pieces: Uint8Array[] = []
    let reset: Error | undefined
    try {
      for await (const piece of requester.stream.source) pieces.push(piece.slice())
    } catch (err) {
      reset = err as Error
    }
    await served
    return { bytes: concat(pieces), reset, requester, provider: providerEnd, served }
  }

  const framedOk = async (request: Request): Promise<Uint8Array> => {
    const answer = await ask(encodeRequest(request), { framed: true })
    assert.equal(answer.reset, undefined)
    const framed = parseFramed(answer.bytes)
    assert.deepEqual([framed.status, framed.message], [Status.Ok, ''])
    return framed.payload
  }

  beforeEach(async () => {
    store = new MemStore()
    events = []
    for (const bytes of [small, empty, data]) await store.addBytes(bytes)
    make()
  })
  afterEach(async () => { await store.close() })

  describe('serves each request kind, byte for byte', () => {
    it('Get of a one-group blob, raw: the size header, then the data, then a clean end', async () => {
      const answer = await ask(encodeRequest(get(smallHash)), { framed: false })
      assert.equal(answer.reset, undefined)
      assert.equal(hex(answer.bytes), hex(concat([sizeHeader(3000), small])))
    })

    it('Get of a one-group blob, framed: one frame holding the same bytes, then the end frame 00 00 00', async () => {
      const answer = await ask(encodeRequest(get(smallHash)), { framed: true })
      assert.equal(hex(answer.bytes.subarray(-3)), '000000')
      const framed = parseFramed(answer.bytes)
      assert.equal(framed.frames, 1)
      assert.equal(hex(framed.payload), hex(concat([sizeHeader(3000), small])))
    })

    it('Get of a whole 100 KiB blob: pairs in pre-order, interleaved with the groups (PROTOCOL.md section 4, item 3)', async () => {
      const payload = await framedOk(get(hash))
      const expected = concat([sizeHeader(data.length), pair(0), pair(1), pair(2), group(0), group(1), pair(3), group(2), group(3),
        pair(4), pair(5), group(4), group(5), group(6)])
      assert.equal(payload.length, 8 + 6 * 64 + 100 * KiB)
      assert.ok(Buffer.from(payload).equals(Buffer.from(expected)))
    })

    it('Get of a range (group 1): the pairs on its path and its data, nothing else', async () => {
      const payload = await framedOk(get(hash, RangeSpecSeq.root(ChunkRanges.range(16, 32))))
      assert.ok(Buffer.from(payload).equals(Buffer.from(concat([sizeHeader(data.length), pair(0), pair(1), pair(2), group(1)]))))
    })

    it('Get of the empty blob: a size of 0 and nothing else', async () => {
      assert.equal(hex(await framedOk(get(emptyHash))), '0000000000000000')
    })

    it('Get of a HashSeq and its children: the root\'s response, then each child\'s', async () => {
      const seq = encodeHashSeq([smallHash, emptyHash])
      const root = (await store.addBytes(seq, { format: 'hashseq' })).hash
      const payload = await framedOk(get(root, RangeSpecSeq.all()))
      assert.equal(hex(payload), hex(concat([sizeHeader(64), seq, sizeHeader(3000), small, sizeHeader(0)])))
      const childOnly = await framedOk(get(root, RangeSpecSeq.fromRanges([ChunkRanges.empty(), ChunkRanges.all()])))
      assert.equal(hex(childOnly), hex(concat([sizeHeader(3000), small])), 'offset 1 alone: child 0, not the root')
    })

    it('GetMany: each hash\'s response in order, with its own ranges', async () => {
      const payload = await framedOk({ type: 'getMany', hashes: [emptyHash, hash, smallHash], ranges: RangeSpecSeq.fromRanges([ChunkRanges.all(), ChunkRanges.empty(), ChunkRanges.all()]) })
      assert.equal(hex(payload), hex(concat([sizeHeader(0), sizeHeader(3000), small])))
    })

    it('Observe: the whole bitfield first, then what changes, until the requester goes away', async () => {
      const [requester, end] = streamPair()
      const served = provider.serve(end.stream, { peer: 'peer-a', connectionId: 'conn-1', framed: false })
      await requester.stream.write(encodeRequest({ type: 'observe', hash: smallHash, ranges: ChunkRanges.all() }))
      await requester.stream.closeWrite()
      const first = (await requester.stream.source[Symbol.asyncIterator]().next()).value as Uint8Array
      requester.stream.abort(new Error('seen enough'))
      await served
      // len 4, size 3000 (b8 17), one open range from 0: complete.
      assert.equal(hex(first), '04b8170100')

      // A blob the provider does not have yet, arriving in two parts while it is observed.
      const fresh = randomBytes(50 * KiB, 34)
      const source = new MemStore()
      const freshHash = (await source.addBytes(fresh)).hash
      const seen: string[] = []
      const l = linkToProvider(provider, { framed: true })
      for await (const state of observeFrom(l.open, freshHash, ChunkRanges.all())) {
        seen.push(`${state.size} ${state.ranges.toString()}`)
        if (seen.length === 1) await store.importBao(freshHash, ChunkRanges.range(0, 16), source.exportBao(freshHash, ChunkRanges.range(0, 16)))
        if (seen.length === 2) await store.importBao(freshHash, ChunkRanges.all(), source.exportBao(freshHash, ChunkRanges.all()))
        if (seen.length === 3) break
      }
      await l.opened[0]?.served
      assert.deepEqual(seen, ['0 {}', '51200 {0..16}', '51200 {0..}'])
      const observed = events.filter(e => e.type === 'completed' && e.context.request.type === 'observe')
      assert.equal(observed.length, 2, 'an observer that goes away has completed')
      assert.deepEqual(provider.load(), { requests: 0, queued: 0, observers: 0, requestBytes: 0 })
      await source.close()
    })
  })

  describe('Push', () => {
    let pusher: MemStore
    beforeEach(async () => {
      pusher = new MemStore()
      await pusher.addBytes(data)
      await store.close()
      store = new MemStore() // the receiver starts empty
      make()
    })
    afterEach(async () => { await pusher.close() })
    const push = async (peer: string, framed = true): Promise<PushStats> =>
      pushTo(linkToProvider(provider, { framed, peer }).open, pusher, { hash, ranges: RangeSpecSeq.root() })

    it('is refused by default: Permission, nothing stored', async () => {
      assert.equal((await rejection(() => push('peer-a'))).name, 'Permission')
      assert.equal((await store.status(hash)).status, 'absent')
      const aborted = events.find(e => e.type === 'aborted')
      assert.ok(aborted?.type === 'aborted' && aborted.error.name === 'Permission' && aborted.context?.request.type === 'push')
    })

    it('is refused on the raw protocol with a reset (no reason travels), nothing stored', async () => {
      const error = await rejection(() => push('peer-a', false))
      assert.equal(error.name, 'StreamResetError')
      assert.equal((await store.status(hash)).status, 'absent')
    })

    it('is accepted when the policy allows the peer: the receiver verifies and stores every byte', async () => {
      make({ policy: { push: { peers: ['friend'] } } })
      assert.equal((await rejection(() => push('stranger'))).name, 'Permission')
      const stats = await push('friend')
      assert.equal(stats.bytesSent, 8 + 6 * 64 + 100 * KiB)
      assert.deepEqual(await store.getBytes(hash), data)
      const completed = events.find(e => e.type === 'completed')
      const requestBytes = encodeRequest({ type: 'push', request: { hash, ranges: RangeSpecSeq.root() } }).length
      assert.ok(completed?.type === 'completed')
      assert.deepEqual([completed.context.peer, completed.stats.bytesRead, completed.stats.bytesSent], ['friend', requestBytes + stats.bytesSent, 0])
    })

    it('a HashSeq and its children pushed in one stream: the receiver takes the children from the root it just stored', async () => {
      make({ policy: { push: 'all' } })
      const files = [randomBytes(20000, 36), randomBytes(10, 37)]
      const hashes: Uint8Array[] = []
      for (const file of files) hashes.push((await pusher.addBytes(file)).hash)
      const root = (await pusher.addBytes(encodeHashSeq(hashes), { format: 'hashseq' })).hash
      await pushTo(linkToProvider(provider, { framed: true }).open, pusher, { hash: root, ranges: RangeSpecSeq.all() })
      assert.deepEqual(await store.getBytes(root), encodeHashSeq(hashes))
      for (const [i, file] of files.entries()) assert.deepEqual(await store.getBytes(hashes[i] as Uint8Array), file)
    })

    it('a push of a blob the pusher lacks fails at once, it does not wait forever', async () => {
      // pushTo waits for the receiver's answer only when a write failed (a refusal's reason): it
      // used to wait also when sending failed on the pusher's side (NotFound here, or local
      // corruption), while the receiver waited for the data: each waited for the other, and
      // nothing timed out (blobs-service turns libp2p's inactivity timeout off).
      make({ policy: { push: 'all' } })
      const l = linkToProvider(provider, { framed: true })
      let timer: NodeJS.Timeout | undefined
      const outcome = await Promise.race([
        pushTo(l.open, pusher, { hash: missing, ranges: RangeSpecSeq.root() }).then(() => 'resolved', (err: Error) => err.name),
        new Promise<string>(resolve => { timer = setTimeout(() => { resolve('still waiting after 1 s') }, 1000) })
      ])
      clearTimeout(timer)
      l.opened[0]?.requester.stream.abort(new Error('test over')) // let the receiver go either way
      await l.opened[0]?.served
      assert.equal(outcome, 'NotFound')
    })

    it('pushed data that does not verify is refused (LeafHashMismatch, status Internal) and nothing of it stored', async () => {
      make({ policy: { push: 'all' } })
      const [pusherEnd, receiver] = streamPair()
      const served = provider.serve(receiver.stream, { peer: 'peer-a', connectionId: 'conn-1', framed: true })
      const bad = concat([sizeHeader(3000), small])
      bad[100] = (bad[100] as number) ^ 1
      await pusherEnd.stream.write(encodeRequest({ type: 'push', request: { hash: smallHash, ranges: RangeSpecSeq.root() } }))
      await pusherEnd.stream.write(bad)
      await pusherEnd.stream.closeWrite()
      const answer = parseFramed(concat(await collectAll(pusherEnd.stream.source)))
      await served
      assert.equal(answer.status, Status.Internal)
      assert.match(answer.message, /^LeafHashMismatch: /)
      assert.equal((await store.status(smallHash)).status, 'absent')
    })
  })

  describe('refusals and limits: a named status, and the next stream is served', () => {
    const statusOf = async (request: Uint8Array, options: { peer?: string, close?: boolean } = {}): Promise<Framed> => {
      const answer = await ask(request, { framed: true, ...options })
      assert.equal(answer.reset, undefined)
      return parseFramed(answer.bytes)
    }
    const stillServes = async (): Promise<void> => {
      assert.equal(hex(await framedOk(get(smallHash))), hex(concat([sizeHeader(3000), small])))
    }

    it('a reserved request type: Malformed (5), MalformedMessage in the event, no context', async () => {
      const answer = await statusOf(Uint8Array.of(5, ...smallHash, 1, 0, 1, 0))
      assert.deepEqual([answer.status, answer.payload.length], [Status.Malformed, 0])
      assert.match(answer.message, /^MalformedMessage: /)
      const aborted = events.find(e => e.type === 'aborted')
      assert.ok(aborted?.type === 'aborted' && aborted.error.name === 'MalformedMessage' && aborted.context === undefined)
      await stillServes()
    })

    it('a truncated request, and an empty one: Malformed (5)', async () => {
      const full = encodeRequest(get(smallHash))
      assert.equal((await statusOf(full.subarray(0, 20))).status, Status.Malformed)
      assert.equal((await statusOf(new Uint8Array(0))).status, Status.Malformed)
      await stillServes()
    })

    it('a malformed request on the raw protocol: a reset, and the next stream is served', async () => {
      const answer = await ask(Uint8Array.of(7, 1, 2, 3), { framed: false })
      assert.equal(answer.reset?.name, 'StreamResetError')
      assert.equal(answer.bytes.length, 0)
      await stillServes()
    })

    it('a request over the limits: RequestTooLarge (6), whether too many hashes or too many bytes', async () => {
      make({ limits: { maxHashes: 2, maxRequestSize: 200 } })
      const many = await statusOf(encodeRequest({ type: 'getMany', hashes: [smallHash, smallHash, smallHash], ranges: RangeSpecSeq.all() }))
      assert.equal(many.status, Status.TooLarge)
      assert.match(many.message, /^RequestTooLarge: /)
      // Over the size limit, refused before the requester closes its side: the rest is not awaited.
      const long = await statusOf(new Uint8Array(300), { close: false })
      assert.equal(long.status, Status.TooLarge)
      const names = events.flatMap(e => e.type === 'aborted' ? [e.error.name] : [])
      assert.deepEqual(names, ['RequestTooLarge', 'RequestTooLarge'])
      await stillServes()
      const error = await rejection(async () => runToStore(new MemStore(), await new AtInitial(linkToProvider(provider, { framed: true }).open,
        { type: 'getMany', hashes: [smallHash, smallHash, smallHash], ranges: RangeSpecSeq.all() }).next()))
      assert.equal(error.name, 'RequestTooLarge', 'the requester raises it by name')
    })

    it('after a refusal the provider reads no more: what the requester still sends is dropped, not held', async () => {
      make({ limits: { maxRequestSize: 200 } })
      const answer = await ask(new Uint8Array(300), { framed: true, close: false, pair: { highWaterMark: KiB } })
      assert.equal(parseFramed(answer.bytes).status, Status.TooLarge)
      assert.equal(answer.provider.stream.closed.aborted, true, 'closed both ways on the provider\'s side')
      await answer.requester.stream.write(new Uint8Array(1 << 20)) // would wait for a reader if it were kept
      assert.equal(answer.requester.unread, 0)
    })

    it('policy denial: Permission (1), for a kind, a peer list, or a hook reading the request', async () => {
      const policy: ProviderPolicy = {
        getMany: 'none',
        observe: { peers: ['friend'] },
        get: ctx => ctx.request.type === 'get' && ctx.request.request.hash[0] !== smallHash[0]
      }
      make({ policy })
      assert.equal((await statusOf(encodeRequest({ type: 'getMany', hashes: [smallHash], ranges: RangeSpecSeq.all() }))).status, Status.Permission)
      assert.equal((await statusOf(encodeRequest({ type: 'observe', hash: smallHash, ranges: ChunkRanges.all() }), { peer: 'stranger' })).status, Status.Permission)
      const denied = await statusOf(encodeRequest(get(smallHash)))
      assert.deepEqual([denied.status, denied.payload.length], [Status.Permission, 0])
      assert.equal((await statusOf(encodeRequest(get(emptyHash)))).status, Status.Ok)
    })

    it('a missing blob: NotFound (3) framed; a clean end before any size header raw', async () => {
      assert.equal((await statusOf(encodeRequest(get(missing)))).status, Status.NotFound)
      const raw = await ask(encodeRequest(get(missing)), { framed: false })
      assert.deepEqual([raw.reset, raw.bytes.length], [undefined, 0])
      // GetMany: what the provider has comes first, then NotFound.
      const partly = await statusOf(encodeRequest({ type: 'getMany', hashes: [emptyHash, missing], ranges: RangeSpecSeq.all() }))
      assert.deepEqual([partly.status, hex(partly.payload)], [Status.NotFound, hex(sizeHeader(0))])
    })

    it('throttle: RateLimited (2) when it throws RateLimited, Internal (4) for any other error', async () => {
      make({
        policy: {
          throttle: ctx => {
            if (ctx.request.type !== 'get') return
            if (ctx.request.request.hash[0] === smallHash[0]) throw new RateLimited('slow down')
            if (ctx.request.request.hash[0] === emptyHash[0]) throw new Error('disk on fire')
          }
        }
      })
      assert.equal((await statusOf(encodeRequest(get(smallHash)))).status, Status.RateLimited)
      const internal = await statusOf(encodeRequest(get(emptyHash)))
      // The requester learns the name, not what the provider's own error says (it may name its files).
      assert.deepEqual([internal.status, internal.message], [Status.Internal, 'Error: the provider failed serving this request (its log has why)'])
      const aborted = events.find(e => e.type === 'aborted' && e.error.message === 'disk on fire')
      assert.ok(aborted !== undefined, 'the provider\'s own event has the whole error')
      assert.equal((await statusOf(encodeRequest(get(hash)))).status, Status.Ok)
    })

    it('no complete request within requestTimeoutMs: Timeout in the event (status Internal)', async () => {
      make({ limits: { requestTimeoutMs: 30 } })
      const answer = await statusOf(encodeRequest(get(smallHash)).subarray(0, 10), { close: false })
      assert.equal(answer.status, Status.Internal)
      const aborted = events.find(e => e.type === 'aborted')
      assert.ok(aborted?.type === 'aborted' && aborted.error.name === 'Timeout')
    })

    it('a peer over its share of request bytes: RateLimited (2) before the request is decoded', async () => {
      make({ limits: { maxRequestBytesPerPeer: 1000 } })
      const hashes = Array.from({ length: 20 }, (_, i) => randomBytes(32, 100 + i)) // 645 bytes, 20 * 96 more decoded
      const refused = await statusOf(encodeRequest({ type: 'getMany', hashes, ranges: RangeSpecSeq.all() }))
      assert.equal(refused.status, Status.RateLimited)
      assert.deepEqual(provider.load(), { requests: 0, queued: 0, observers: 0, requestBytes: 0 }, 'the bytes are given back')
      await stillServes()
    })

    it('observers past the peer\'s limit: RateLimited, until the quietest has been quiet observerQuietMs; then it is ended to make room', async () => {
      make({ limits: { maxObserversPerPeer: 1, observerQuietMs: 200 } })
      const observe = encodeRequest({ type: 'observe', hash: smallHash, ranges: ChunkRanges.all() })
      const [first, end] = streamPair()
      const served = provider.serve(end.stream, { peer: 'peer-a', connectionId: 'conn-1', framed: true })
      await first.stream.write(observe)
      await first.stream.closeWrite()
      const firstMessages = first.stream.source[Symbol.asyncIterator]()
      await firstMessages.next() // its first message: it holds the place now
      assert.equal((await statusOf(observe)).status, Status.RateLimited, 'the first has not been quiet for long')
      await new Promise(resolve => setTimeout(resolve, 250))
      const [second, secondEnd] = streamPair()
      const secondServed = provider.serve(secondEnd.stream, { peer: 'peer-a', connectionId: 'conn-1', framed: true })
      await second.stream.write(observe)
      await second.stream.closeWrite()
      assert.equal(hex(((await second.stream.source[Symbol.asyncIterator]().next()).value as Uint8Array)), '05' + '04b8170100', 'the second is served')
      // The first is told why it ended: the end frame with RateLimited.
      const rest: Uint8Array[] = []
      for (let next = await firstMessages.next(); next.done !== true; next = await firstMessages.next()) rest.push(next.value)
      const ended = parseFramed(concat(rest))
      assert.deepEqual([ended.status, ended.payload.length], [Status.RateLimited, 0])
      await served
      assert.equal(provider.load().observers, 1)
      second.stream.abort(new Error('done'))
      await secondServed
      assert.equal(provider.load().observers, 0)
    })

    it('a peer over its places with no queue left: RateLimited (2), while another peer is served', async () => {
      make({ limits: { maxRequestsPerPeer: 1, maxQueuedRequests: 0 } })
      // The first request is held: its reader takes nothing, so the provider waits to write.
      const [held, end] = streamPair({ highWaterMark: KiB })
      const served = provider.serve(end.stream, { peer: 'peer-a', connectionId: 'conn-1', framed: true })
      await held.stream.write(encodeRequest(get(hash)))
      await held.stream.closeWrite()
      while (provider.load().requests === 0) await new Promise(resolve => setImmediate(resolve))
      assert.equal((await statusOf(encodeRequest(get(smallHash)))).status, Status.RateLimited)
      assert.equal((await statusOf(encodeRequest(get(smallHash)), { peer: 'peer-b' })).status, Status.Ok)
      const payload = parseFramed(concat(await collectAll(held.stream.source))).payload
      await served
      assert.equal(payload.length, 8 + 6 * 64 + 100 * KiB)
      assert.deepEqual(provider.load(), { requests: 0, queued: 0, observers: 0, requestBytes: 0 })
      await stillServes()
    })
  })

  describe('events', () => {
    it('connected once per connection, requestReceived, progress and completed with exact statistics', async () => {
      const request = encodeRequest(get(hash))
      await ask(request, { framed: true })
      await ask(encodeRequest(get(smallHash)), { framed: true })
      await ask(encodeRequest(get(smallHash)), { framed: true, connectionId: 'conn-2' })
      assert.deepEqual(events.filter(e => e.type === 'connected').map(e => e.type === 'connected' && e.connectionId), ['conn-1', 'conn-2'])
      const first = events.slice(0, events.findIndex(e => e.type === 'completed') + 1)
      assert.deepEqual([...new Set(first.map(e => e.type))], ['connected', 'requestReceived', 'progress', 'completed'])
      const completed = first.at(-1)
      assert.ok(completed?.type === 'completed')
      assert.equal(completed.stats.bytesSent, 8 + 6 * 64 + 100 * KiB)
      assert.equal(completed.stats.bytesRead, request.length)
      assert.equal(completed.context.peer, 'peer-a')
      const progress = first.flatMap(e => e.type === 'progress' ? [e.bytesSent] : [])
      assert.equal(progress.at(-1), completed.stats.bytesSent)
      const ids = events.flatMap(e => e.type === 'requestReceived' ? [e.context.requestId] : [])
      assert.equal(new Set(ids).size, 3, 'request ids are unique')

      provider.connectionClosed('peer-a', 'conn-1')
      await ask(encodeRequest(get(smallHash)), { framed: true })
      assert.equal(events.filter(e => e.type === 'connected').length, 3, 'a closed connection is announced again')
    })

    it('a listener that throws does not break serving', async () => {
      provider = new Provider({ store, onEvent: () => { throw new Error('listener bug') } })
      assert.equal(hex(await framedOk(get(smallHash))), hex(concat([sizeHeader(3000), small])))
    })

    it('an async listener that rejects does not become an unhandled rejection', async () => {
      // onEvent's type (=> void) also takes an async function, whose rejection used to escape
      // Provider.emit's try: Node ends the process on an unhandled rejection, so one faulty async
      // listener took the node down. Mocha swallows these, so they are collected here.
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
      process.on('unhandledRejection', onUnhandled)
      try {
        provider = new Provider({ store, onEvent: async () => { throw new Error('async listener bug') } })
        assert.equal(hex(await framedOk(get(smallHash))), hex(concat([sizeHeader(3000), small])))
        await new Promise(resolve => setTimeout(resolve, 10))
      } finally {
        process.off('unhandledRejection', onUnhandled)
      }
      assert.deepEqual(unhandled.map(e => (e as Error).message), [])
    })

    it('the requester resets mid-response: aborted (Aborted) with the bytes sent so far, and the provider lets go', async () => {
      const big = randomBytes(1 << 20, 35)
      const bigHash = (await store.addBytes(big)).hash
      const [requester, end] = streamPair({ highWaterMark: 16 * KiB, sliceSize: 4 * KiB })
      const served = provider.serve(end.stream, { peer: 'peer-a', connectionId: 'conn-1', framed: true })
      await requester.stream.write(encodeRequest(get(bigHash)))
      await requester.stream.closeWrite()
      let read = 0
      for await (const piece of requester.stream.source) {
        read += piece.length
        if (read < 300 * KiB) continue
        // Reset while the provider waits to write the rest (its reader is 16 KiB at most behind).
        requester.stream.abort(new Error('requester gone'))
        break
      }
      await served
      const aborted = events.find(e => e.type === 'aborted')
      assert.ok(aborted?.type === 'aborted')
      assert.equal(aborted.error.name, 'Aborted')
      assert.equal(aborted.context?.request.type, 'get')
      assert.ok(aborted.stats.bytesSent >= 256 * KiB && aborted.stats.bytesSent < 8 + 63 * 64 + (1 << 20), `${aborted.stats.bytesSent} bytes sent of the whole`)
      assert.equal(events.some(e => e.type === 'completed'), false)
      assert.deepEqual(provider.load(), { requests: 0, queued: 0, observers: 0, requestBytes: 0 })
    })
  })
})

async function collectAll (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const pieces: Uint8Array[] = []
  for await (const piece of source) pieces.push(piece.slice())
  return pieces
}
