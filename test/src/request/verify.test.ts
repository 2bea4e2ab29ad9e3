import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeRanges } from '../../../store/bao/decode.js'
import { fromHex, toHex } from '../../../store/hash-text.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { gatewayHandler } from '../../../src/http/gateway.js'
import { GatewayMetrics } from '../../../src/http/metrics.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { createRequestClient } from '../../../src/request/index.js'
import { randomBytes } from '../../helpers.js'
import { OriginServer } from '../origin/origin-server.js'

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

async function listen (server: Server): Promise<string> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function close (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
}

/**
 * A seed gone bad in front of a real one: passes requests on and answers with what the seed
 * says, except that it flips one byte of every body at `flipAt` (when given) or rewrites a header.
 */
function corruptingProxy (target: string, change: { flipAt?: number, headers?: Record<string, string> }): Server {
  return createServer((req, res) => {
    const out = httpRequest(`http://${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, answer => {
      res.writeHead(answer.statusCode ?? 500, { ...answer.headers, ...change.headers })
      let at = 0
      answer.on('data', (part: Buffer) => {
        const flip = change.flipAt
        if (flip !== undefined && flip >= at && flip < at + part.length) part[flip - at] = (part[flip - at] as number) ^ 0x40
        at += part.length
        res.write(part)
      })
      answer.on('end', () => { res.end() })
    })
    out.on('error', () => { res.destroy() })
    out.end()
  })
}

async function body (response: { body: AsyncIterable<Uint8Array> }): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of response.body) parts.push(part)
  return Buffer.concat(parts)
}

describe('request SDK: verified bytes against seeds that lie', function () {
  this.timeout(120000)
  let origin: OriginServer
  let seeds: VerityNode[]
  let gateways: Server[]
  let hosts: string[]
  const data = randomBytes(2 << 20, 31)
  let url: string

  before(async () => {
    origin = await OriginServer.start()
    url = origin.put('/file.bin', data)
    seeds = await Promise.all([0, 1].map(async () => await createNode({ seed: { origins: [origin.url('/')] } })))
    gateways = seeds.map(seed => createServer(gatewayHandler(seed, new GatewayMetrics())))
    hosts = await Promise.all(gateways.map(listen))
  })
  after(async () => {
    await Promise.all(gateways.map(close))
    await Promise.all(seeds.map(async seed => { await seed.stop() }))
    await origin.stop()
  })

  it('Accept: application/x-bao on /blob/<hash> and /tasks: the encoded range stream, which the project\'s decoder verifies', async () => {
    const hash = toHex((await (seeds[0] as VerityNode).blobs.addBytes(data)).hash)
    for (const path of [`/blob/${hash}`, `/tasks?url=${encodeURIComponent(url)}`]) {
      const res = await fetch(`http://${hosts[0] as string}${path}`, { headers: { accept: 'application/x-bao', range: 'bytes=100000-300000' } })
      assert.equal(res.status, 206)
      assert.equal(res.headers.get('content-type'), 'application/x-bao')
      assert.equal(res.headers.get('x-verity-content-range'), `bytes 100000-300000/${data.length}`)
      assert.equal(res.headers.get('x-verity-size'), String(data.length))
      assert.equal(res.headers.get('etag'), null)
      const encoded = new Uint8Array(await res.arrayBuffer())
      const got = new Uint8Array(data.length)
      let covered = 0
      for await (const item of decodeRanges(fromHex(hash), ChunkRanges.fromByteRange(100000, 300001), [encoded])) {
        if (item.type !== 'leaf') continue
        got.set(item.data, item.offset)
        covered += item.data.length
      }
      assert.ok(covered >= 200001 && covered < 200001 + 2 * 16384, `${covered} bytes decoded`)
      assert.ok(Buffer.from(got.subarray(100000, 300001)).equals(data.subarray(100000, 300001)))
      // One flipped byte and the same decoder refuses it.
      encoded[encoded.length - 5] = (encoded[encoded.length - 5] as number) ^ 1
      await assert.rejects((async () => { for await (const _ of decodeRanges(fromHex(hash), ChunkRanges.fromByteRange(100000, 300001), [encoded])) { /* read */ } })(), { name: 'LeafHashMismatch' })
    }
  })

  it('a seed that flips a byte: the group fails verification, nothing of it is handed on, and the rest of the range comes from the next seed', async () => {
    const proxy = corruptingProxy(hosts[0] as string, { flipAt: 700000 })
    const bad = await listen(proxy)
    try {
      const client = createRequestClient({ seeds: [bad, hosts[1] as string] })
      let wanted = ''
      // A URL (the origin ignores the query) whose task the bad seed holds first on the ring.
      for (let i = 0; wanted === '' && i < 1000; i++) if (client.route({ url: `${url}?v=${i}` }).seeds[0] === bad) wanted = `${url}?v=${i}`
      const res = await client.get({ url: wanted })
      assert.equal(sha256(await body(res)), sha256(data))
      assert.deepEqual(res.servedBy, [bad, hosts[1]])
      await client.close()
      // Without verification the same seed's flipped byte reaches the caller: the check is what stops it.
      const trusting = createRequestClient({ seeds: [bad], verify: false })
      const plain = await body(await trusting.get({ url: wanted }))
      assert.equal(plain.length, data.length)
      assert.notEqual(sha256(plain), sha256(data))
      await trusting.close()
    } finally {
      await close(proxy)
    }
  })

  it('a seed that says it sends other bytes than asked, or another blob: SeedAnswerInvalid, the next seed answers', async () => {
    const lies = [
      { headers: { 'x-verity-content-range': `bytes 0-999/${data.length}` }, seen: 'SeedAnswerInvalid' },
      // Another hash named: the proof does not lead to it, so the first pair fails.
      { headers: { 'x-verity-hash': '11'.repeat(32) }, seen: 'ParentHashMismatch' },
      { headers: { 'content-type': 'application/octet-stream' }, seen: 'SeedAnswerInvalid' }
    ]
    for (const { headers, seen } of lies) {
      const proxy = corruptingProxy(hosts[0] as string, { headers })
      const bad = await listen(proxy)
      try {
        const alone = createRequestClient({ seeds: [bad] })
        await assert.rejects(async () => await body(await alone.get({ url, headers: { range: 'bytes=5000-5999' } })), (err: Error & { tried?: Array<{ error: Error }> }) =>
          err.name === 'NoSeedAvailable' && (err.tried?.[0]?.error.cause as Error).name === seen)
        await alone.close()
        const client = createRequestClient({ seeds: [bad, hosts[1] as string] })
        const route = client.route({ url }).seeds
        const res = await client.getInto({ url, headers: { range: 'bytes=5000-5999' } }, new Uint8Array(1000))
        assert.equal(res.seed, route[0] === bad ? hosts[1] : route[0])
        await client.close()
      } finally {
        await close(proxy)
      }
    }
  })
})
