import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { blobCid, hashOfCid } from '../../../src/discovery/cid.js'
import type { DiscoveryEvent, FoundProvider } from '../../../src/discovery/interface.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { blake3 } from '../../../store/bao/hash.js'
import { randomBytes } from '../../helpers.js'

const LOOPBACK_TCP = ['/ip4/127.0.0.1/tcp/0']

const tcpAddr = (node: VerityNode): string => {
  const addr = node.addrs().map(String).find(a => a.includes('/tcp/'))
  if (addr === undefined) throw new Error('no tcp address')
  return addr
}

async function until (what: string, check: () => boolean | Promise<boolean>, ms = 20000): Promise<void> {
  const end = Date.now() + ms
  while (!await check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function collect (source: AsyncIterable<FoundProvider>): Promise<string[]> {
  const ids: string[] = []
  for await (const found of source) ids.push(found.peerId)
  return ids
}

describe('discovery: blob CIDs', () => {
  it('is CIDv1, raw codec, BLAKE3 multihash of the 32-byte hash, and reads back', () => {
    const hash = randomBytes(32, 7)
    const cid = blobCid(hash)
    assert.equal(cid.version, 1)
    assert.equal(cid.code, 0x55)
    assert.equal(cid.multihash.code, 0x1e)
    assert.deepEqual(cid.multihash.digest, hash)
    // The multihash bytes: code 0x1e, length 32, the hash.
    assert.deepEqual([...cid.multihash.bytes.slice(0, 2)], [0x1e, 0x20])
    assert.deepEqual(hashOfCid(CID.parse(cid.toString())), hash)
  })

  it('refuses what is not a 32-byte hash, and reads no other kind of CID as a blob', () => {
    assert.throws(() => blobCid(new Uint8Array(31)), RangeError)
    assert.throws(() => blobCid('ab' as unknown as Uint8Array), TypeError)
    const dagPb = CID.createV1(0x70, blobCid(randomBytes(32, 1)).multihash)
    assert.equal(hashOfCid(dagPb), undefined)
  })
})

describe('discovery: three nodes on 127.0.0.1', function () {
  this.timeout(60000)
  const nodes: VerityNode[] = []
  const events: DiscoveryEvent[][] = [[], [], []]
  const timings = { recordValidityMs: 3000, reannounceMs: 1000, scanIntervalMs: 200, announceTimeoutMs: 5000 }

  before(async () => {
    // A chain: each knows only the one before it.
    for (let i = 0; i < 3; i++) {
      nodes.push(await createNode({
        listen: LOOPBACK_TCP,
        dht: { ...timings, bootstrap: i === 0 ? [] : [tcpAddr(nodes[i - 1] as VerityNode)], onEvent: e => { events[i]?.push(e) } }
      }))
    }
  })
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })

  it('is off unless asked for: no discovery, no DHT service', async () => {
    const plain = await createNode({ listen: LOOPBACK_TCP })
    try {
      assert.equal(plain.discovery, undefined)
      assert.equal((plain.libp2p.services as Record<string, unknown>).dht, undefined)
    } finally {
      await plain.stop()
    }
  })

  it('announces a blob added on the first node; the last finds it by hash and fetches it', async () => {
    const [first, , last] = nodes as [VerityNode, VerityNode, VerityNode]
    const bytes = randomBytes(300_000, 3)
    const { hash } = await first.blobs.addBytes(bytes)
    await until('the announcement', () => first.discovery?.isAnnounced(hash) === true)
    const found = await collect((last.discovery as NonNullable<VerityNode['discovery']>).findProviders(hash, { timeoutMs: 10000 }))
    assert.deepEqual(found, [first.peerId])
    const controller = new AbortController()
    const result = await last.downloader.download({ request: hash, providers: last.discovery!.findProviders(hash, { signal: controller.signal }) })
    controller.abort()
    assert.equal(result.bytes, bytes.length)
    assert.ok(Buffer.from(await last.blobs.getBytes(hash)).equals(Buffer.from(bytes)))
    const lookups = events[2]?.filter(e => e.type === 'lookup:provider') ?? []
    assert.ok(lookups.length >= 1, 'lookup:provider events')
  })

  it('stops announcing a deleted blob: once records expire nobody finds it', async () => {
    const [first, middle] = nodes as [VerityNode, VerityNode, VerityNode]
    const { hash } = await first.blobs.addBytes(randomBytes(50_000, 9), { tag: false })
    await until('the announcement', () => first.discovery?.isAnnounced(hash) === true)
    assert.deepEqual(await collect(middle.discovery!.findProviders(hash, { timeoutMs: 5000 })), [first.peerId])
    await first.blobs.gc()
    assert.equal((await first.blobs.status(hash)).status, 'absent')
    await until('the announcer to drop it', () => events[0]?.some(e => e.type === 'announce:stopped') === true)
    assert.equal(first.discovery?.isAnnounced(hash), false)
    // Records elsewhere live recordValidityMs (3 s) and are swept every validity / 4.
    await until('the records to expire', async () => (await collect(middle.discovery!.findProviders(hash, { timeoutMs: 3000 }))).length === 0, 15000)
  })

  it('a lookup started before the blob is announced finds it once it is (it looks again)', async () => {
    const [first, , last] = nodes as [VerityNode, VerityNode, VerityNode]
    const bytes = randomBytes(20_000, 44)
    const hash = blake3(bytes)
    const lookup = collect(last.discovery!.findProviders(hash, { timeoutMs: 15000 }))
    await new Promise(resolve => setTimeout(resolve, 1000))
    await first.blobs.addBytes(bytes)
    assert.deepEqual(await lookup, [first.peerId])
  })

  it('a lookup of a hash nobody announced ends empty at its deadline, and says so', async () => {
    const last = nodes[2] as VerityNode
    const started = Date.now()
    assert.deepEqual(await collect(last.discovery!.findProviders(randomBytes(32, 99), { timeoutMs: 2000 })), [])
    assert.ok(Date.now() - started < 5000)
    const done = events[2]?.filter(e => e.type === 'lookup:done').at(-1)
    assert.equal(done?.type === 'lookup:done' ? done.providers : -1, 0)
  })
})
