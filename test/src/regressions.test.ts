import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, type VerityNode } from '../../src/node/create-node.js'
import { RangeSpecSeq } from '../../protocol/range-spec.js'
import { FsStore } from '../../store/fs-store.js'
import type { BlobStore } from '../../store/interface.js'

/**
 * Found by an adversarial review of the hardening change: each test states the behaviour that
 * should hold (the first three held before that change and not after its first version).
 */
describe('regressions and races found in review: large collections, GC, forgotten peers', function () {
  this.timeout(180000)
  const nodes: VerityNode[] = []
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })
  const make = async (): Promise<VerityNode> => { const node = await createNode(); nodes.push(node); return node }
  const addrOf = (node: VerityNode): string => String(node.addrs().find(a => a.toString().includes('/quic-v1')))
  const completeBlobs = async (node: VerityNode): Promise<number> => {
    let n = 0
    for await (const { status } of node.blobs.list()) if (status.status === 'complete') n++
    return n
  }

  describe('a collection of 5,000 files', () => {
    let source: VerityNode
    let hash: Uint8Array
    const N = 5000
    before(async () => {
      source = await make()
      const entries = []
      for (let i = 0; i < N; i++) entries.push({ name: `f${i}.txt`, hash: (await source.blobs.addBytes(new TextEncoder().encode(`file ${i}`), { tag: false })).hash })
      hash = (await source.blobs.addCollection(entries)).hash
    })

    it('downloads with strategy none (not one GetMany of 5,001 hashes: RequestTooLarge)', async () => {
      const node = await make()
      const failures: string[] = []
      try {
        await node.downloader.download({
          request: { hash, format: 'hashseq' },
          providers: [addrOf(source)],
          strategy: 'none',
          onProgress: e => { if (e.type === 'download:provider-failed') failures.push(`${e.detail.error.name}: ${e.detail.error.message}`) }
        })
      } catch (err) {
        failures.push(`${(err as Error).name}`)
      }
      assert.deepEqual(failures, [])
      assert.equal(await completeBlobs(node), N + 2)
    })

    it('Remote.fetch completes it when the HashSeq is already here (it stopped after 4,094 children)', async () => {
      const node = await make()
      await node.remote.fetch(addrOf(source), { hash, ranges: RangeSpecSeq.root() }) // the root only, as an interrupted get leaves it
      const result = await node.remote.fetch(addrOf(source), { hash, format: 'hashseq' })
      assert.equal(result.complete, true, `complete blobs here: ${await completeBlobs(node)} of ${N + 2}`)
    })
  })

  describe('GC and tags (FsStore)', () => {
    let dir: string
    let store: BlobStore
    beforeEach(async () => { dir = mkdtempSync(join(tmpdir(), 'verity-review-gc-')); store = await FsStore.open(dir) })
    afterEach(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }) })

    it('keeps the children of a tagged HashSeq over 32 MiB (the serving limit must not decide what a tag keeps)', async () => {
      const child = await store.addBytes(new TextEncoder().encode('a child of a big collection'), { tag: false })
      const seq = new Uint8Array((1048576 + 1) * 32)
      for (let i = 0; i < seq.length; i += 32) seq.set(child.hash, i)
      await store.addBytes(seq, { tag: 'big', format: 'hashseq' })
      await store.gc()
      assert.equal((await store.status(child.hash)).status, 'complete')
    })

    it('does not collect a collection\'s files when reading its HashSeq fails (the GC fails instead)', async () => {
      const a = await store.addBytes(new TextEncoder().encode('file a'), { tag: false })
      const coll = await store.addCollection([{ name: 'a', hash: a.hash }], { tag: 'photos' })
      const status = store.status.bind(store)
      let calls = 0
      store.status = async hash => {
        if (Buffer.from(hash).equals(Buffer.from(coll.hash)) && calls++ === 0) {
          throw Object.assign(new Error('EIO: i/o error, read'), { name: 'StoreIOError', code: 'EIO' })
        }
        return await status(hash)
      }
      await store.gc().catch(() => {}) // failing is fine; deleting is not
      store.status = status
      assert.equal((await store.status(a.hash)).status, 'complete')
    })

    it('keeps a blob whose tag was being set when gc() was called (in the same tick; 20 of 20 were deleted)', async () => {
      let lost = 0
      for (let i = 0; i < 20; i++) {
        const { hash } = await store.addBytes(new TextEncoder().encode(`blob ${i}`), { tag: false })
        await Promise.all([store.tags.set(`t${i}`, { hash, format: 'raw' }), store.gc()])
        if ((await store.status(hash)).status !== 'complete') lost++
      }
      assert.equal(lost, 0, `${lost} of 20 tagged blobs deleted`)
    })
  })

  it('the provider forgets a peer whose connection closed while a request of its was served', async () => {
    const provider = await createNode({ provide: { throttleSend: async () => { await new Promise(resolve => setTimeout(resolve, 300)) } } })
    nodes.push(provider)
    const { hash } = await provider.blobs.addBytes(new Uint8Array(4 << 20).fill(1))
    for (let i = 0; i < 6; i++) {
      const peer = await createNode()
      const get = peer.remote.executeGet(addrOf(provider), { hash, ranges: RangeSpecSeq.root() }).catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 150))
      // The peer vanishes with its request under way: its libp2p stops before anything else.
      await peer.libp2p.stop()
      await get
      await peer.stop()
    }
    await new Promise(resolve => setTimeout(resolve, 2000))
    const peers = (provider.libp2p.services.blobs.provider as unknown as { peers: Map<string, unknown> }).peers
    assert.equal(provider.libp2p.getConnections().length, 0)
    assert.equal(peers.size, 0, `${peers.size} peers remembered with no connection and nothing running`)
  })
})
