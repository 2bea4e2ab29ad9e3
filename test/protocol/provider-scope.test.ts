import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProviderEvent, ProviderPolicy } from '../../protocol/interface.js'
import { observeFrom } from '../../protocol/observe.js'
import { Provider } from '../../protocol/provider/provider.js'
import { scopeOf } from '../../protocol/provider/scope.js'
import { pushTo } from '../../protocol/push.js'
import { RangeSpecSeq } from '../../protocol/range-spec.js'
import { encodeRequest, type Request } from '../../protocol/request.js'
import { Status } from '../../protocol/status.js'
import { computeOutboard } from '../../store/bao/outboard.js'
import { encodeHashSeq } from '../../store/collection.js'
import type { BlobStore } from '../../store/interface.js'
import { MemStore } from '../../store/mem-store.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { concat, randomBytes } from '../helpers.js'
import { linkToProvider } from './link.js'
import { streamPair } from './stream-pair.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const get = (hash: Uint8Array, ranges = RangeSpecSeq.root()): Request => ({ type: 'get', request: { hash, ranges } })

/**
 * Every byte a provider sends for one request, on the framed or the raw protocol, and `reset` after
 * them when the stream was reset (the raw protocol's way to end a response after some of it).
 */
async function answer (provider: Provider, request: Request, framed: boolean): Promise<Uint8Array> {
  const [requester, end] = streamPair()
  const served = provider.serve(end.stream, { peer: 'peer-a', connectionId: 'conn-1', framed })
  await requester.stream.write(encodeRequest(request))
  await requester.stream.closeWrite()
  const pieces: Uint8Array[] = []
  try {
    for await (const piece of requester.stream.source) pieces.push(piece.slice())
  } catch (err) {
    pieces.push(new TextEncoder().encode(`reset: ${(err as Error).name}`))
  }
  await served
  return concat(pieces)
}

/** The status byte of a framed response: after the last frame, `00 status len message`. */
function statusOf (framed: Uint8Array): number {
  let at = 0
  while (true) {
    let length = 0
    for (let shift = 0; ; shift += 7) {
      const byte = framed[at++] as number
      length += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) break
    }
    if (length === 0) return framed[at] as number
    at += length
  }
}

/**
 * A scoped provider (ProviderPolicy.scope) against the same store without the blobs it hides: for
 * every request kind, an out-of-scope hash is answered byte for byte as a hash the store lacks.
 */
describe('provider scope: out-of-scope blobs look absent', () => {
  const small = randomBytes(3000, 41)
  const big = randomBytes(100 * 1024, 42)
  const hidden = randomBytes(5000, 43)
  const [smallHash, bigHash, hiddenHash] = [small, big, hidden].map(bytes => computeOutboard(bytes).hash) as [Uint8Array, Uint8Array, Uint8Array]
  let store: MemStore
  /** The same store without `hidden`: what "absent" looks like. */
  let lacking: MemStore
  let collection: Uint8Array
  let events: ProviderEvent[]

  const scoped = (scope: NonNullable<ProviderPolicy['scope']>): Provider => new Provider({ store, policy: { scope }, onEvent: e => events.push(e) })
  const plain = (of: BlobStore): Provider => new Provider({ store: of })

  beforeEach(async () => {
    store = new MemStore()
    lacking = new MemStore()
    events = []
    for (const bytes of [small, big]) { await store.addBytes(bytes); await lacking.addBytes(bytes) }
    await store.addBytes(hidden)
    collection = (await store.addCollection([{ name: 'small.bin', hash: smallHash }, { name: 'big.bin', hash: bigHash }])).hash
    await lacking.addCollection([{ name: 'small.bin', hash: smallHash }, { name: 'big.bin', hash: bigHash }])
  })
  afterEach(async () => { await store.close(); await lacking.close() })

  it('scopeOf a collection holds its root, its metadata blob and its files, and nothing else', async () => {
    const scope = await scopeOf(store, [{ hash: collection, format: 'hashseq' }])
    const [meta] = await collectChildren(store, collection)
    for (const hash of [collection, meta as Uint8Array, smallHash, bigHash]) assert.ok(scope(hash), hex(hash))
    assert.equal(scope(hiddenHash), false)
    const raw = await scopeOf(store, [{ hash: smallHash, format: 'raw' }])
    assert.deepEqual([raw(smallHash), raw(bigHash), raw(collection)], [true, false, false])
  })

  it('Get: the collection and its children are served whole; an out-of-scope blob is NotFound, byte for byte as a blob the store lacks (framed and raw)', async () => {
    const provider = scoped(await scopeOf(store, [{ hash: collection, format: 'hashseq' }]))
    for (const framed of [true, false]) {
      const all = await answer(provider, get(collection, RangeSpecSeq.all()), framed)
      assert.equal(hex(all), hex(await answer(plain(store), get(collection, RangeSpecSeq.all()), framed)), 'in scope: as unscoped')
      if (framed) assert.equal(statusOf(all), Status.Ok)
      const out = await answer(provider, get(hiddenHash), framed)
      assert.equal(hex(out), hex(await answer(plain(lacking), get(hiddenHash), framed)), 'out of scope: as absent')
      if (framed) assert.equal(statusOf(out), Status.NotFound)
      else assert.equal(out.length, 0, 'raw: the stream ends before a size header')
    }
    const refused = events.find(e => e.type === 'aborted')
    assert.ok(refused?.type === 'aborted' && refused.error.name === 'NotFound' && hex(refused.blob as Uint8Array) === hex(hiddenHash), 'the event names the blob')
  })

  it('Get of a HashSeq in scope whose child is not: the root and the children in scope, then NotFound at that child, as if it were missing', async () => {
    const seq = encodeHashSeq([smallHash, hiddenHash, bigHash])
    const root = (await store.addBytes(seq, { format: 'hashseq' })).hash
    await lacking.addBytes(seq, { format: 'hashseq' })
    // The root and its first child only: scopeOf would bring every child.
    const provider = scoped(hash => [hex(root), hex(smallHash)].includes(hex(hash)))
    const response = await answer(provider, get(root, RangeSpecSeq.all()), true)
    assert.equal(statusOf(response), Status.NotFound)
    assert.equal(hex(response), hex(await answer(plain(lacking), get(root, RangeSpecSeq.all()), true)))
    const failed = events.find(e => e.type === 'aborted')
    assert.ok(failed?.type === 'aborted' && hex(failed.blob as Uint8Array) === hex(hiddenHash), 'the event names the child')
    // The children of a root out of scope are unknown, as a root the store lacks.
    const childrenOnly = RangeSpecSeq.fromRanges([ChunkRanges.empty(), ChunkRanges.all()])
    const hidden = scoped(hash => hex(hash) === hex(smallHash))
    const out = await answer(hidden, get(root, childrenOnly), true)
    assert.equal(statusOf(out), Status.NotFound)
    const absent = new MemStore()
    await absent.addBytes(small)
    assert.equal(hex(out), hex(await answer(plain(absent), get(root, childrenOnly), true)))
    await absent.close()
  })

  it('GetMany: each hash is checked; what is in scope comes first, then NotFound at the first that is not, as absent', async () => {
    const provider = scoped(await scopeOf(store, [{ hash: collection, format: 'hashseq' }]))
    const request: Request = { type: 'getMany', hashes: [smallHash, hiddenHash, bigHash], ranges: RangeSpecSeq.all() }
    for (const framed of [true, false]) {
      const response = await answer(provider, request, framed)
      assert.equal(hex(response), hex(await answer(plain(lacking), request, framed)))
      if (framed) assert.equal(statusOf(response), Status.NotFound)
    }
    const inScope = await answer(provider, { type: 'getMany', hashes: [bigHash, smallHash], ranges: RangeSpecSeq.all() }, true)
    assert.equal(statusOf(inScope), Status.Ok)
  })

  it('Observe: in scope, the blob\'s bitfield; out of scope, an absent blob\'s (size 0, nothing), unchanged while it is imported', async () => {
    const provider = scoped(await scopeOf(store, [{ hash: collection, format: 'hashseq' }]))
    const link = linkToProvider(provider, { framed: true })
    for await (const state of observeFrom(link.open, smallHash, ChunkRanges.all())) {
      assert.equal(`${state.size} ${state.ranges.toString()}`, `3000 ${ChunkRanges.all().canonicalize(3000).toString()}`)
      break
    }
    // A blob that is here, whole, but hidden; then one that arrives while it is observed.
    const fresh = randomBytes(50 * 1024, 44)
    const source = new MemStore()
    const freshHash = (await source.addBytes(fresh)).hash
    for (const hash of [hiddenHash, freshHash]) {
      const seen: string[] = []
      const controller = new AbortController()
      const observing = (async () => {
        for await (const state of observeFrom(link.open, hash, ChunkRanges.all(), { signal: controller.signal })) seen.push(`${state.size} ${state.ranges.toString()}`)
      })().catch(() => {}) // ended by the abort below
      while (seen.length === 0) await new Promise(resolve => setTimeout(resolve, 5))
      if (hash === freshHash) await store.importBao(freshHash, ChunkRanges.all(), source.exportBao(freshHash, ChunkRanges.all()))
      await new Promise(resolve => setTimeout(resolve, 50))
      controller.abort()
      await observing
      assert.deepEqual(seen, ['0 {}'], hex(hash))
    }
    await source.close()
  })

  it('Push is not scoped: a node that lets a peer push stores what it pushes, in scope or not', async () => {
    const receiver = new MemStore()
    const provider = new Provider({ store: receiver, policy: { push: 'all', scope: () => false } })
    const link = linkToProvider(provider, { framed: true })
    await pushTo(link.open, store, { hash: hiddenHash, ranges: RangeSpecSeq.root() })
    assert.equal((await receiver.status(hiddenHash)).status, 'complete')
    await receiver.close()
  })

  it('a file added in place and edited since: the aborted event names its blob (LeafHashMismatch, local)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-scope-'))
    try {
      const path = join(dir, 'in-place.bin')
      writeFileSync(path, big)
      const files = new MemStore()
      const { hash } = await files.addFile(path, { mode: 'reference' })
      const edited = big.slice()
      edited[40000] = (edited[40000] as number) ^ 1
      writeFileSync(path, edited)
      const seen: ProviderEvent[] = []
      const provider = new Provider({ store: files, onEvent: e => seen.push(e) })
      assert.equal(statusOf(await answer(provider, get(hash), true)), Status.Internal)
      const failed = seen.find(e => e.type === 'aborted')
      assert.ok(failed?.type === 'aborted', JSON.stringify(seen.map(e => e.type)))
      assert.equal(failed.error.name, 'LeafHashMismatch')
      assert.equal((failed.error as Error & { local: boolean }).local, true)
      assert.equal(hex(failed.blob as Uint8Array), hex(hash))
      await files.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

async function collectChildren (store: BlobStore, root: Uint8Array): Promise<Uint8Array[]> {
  const bytes = await store.getBytes(root)
  const children: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += 32) children.push(bytes.slice(at, at + 32))
  return children
}
