import assert from 'node:assert/strict'
import { MemStore } from '../../../store/mem-store.js'
import { wantsBao } from '../../../src/http/answer.js'
import { createRequestClient, type RequestClient } from '../../../src/request/index.js'
import { randomBytes } from '../../helpers.js'
import type { SeedHealth } from '../../../src/request/seed-health.js'
import { FakeSeed } from './fake-seed.js'

async function read (response: { body: AsyncIterable<Uint8Array> }): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const part of response.body) parts.push(part)
  return Buffer.concat(parts)
}

/** A URL whose task `first` holds first on `client`'s ring (the fake seeds answer any URL with their blob). */
function urlFirstAt (client: RequestClient, first: FakeSeed): string {
  for (let i = 0; i < 10000; i++) {
    const url = `http://origin.test/file?v=${i}`
    if (client.route({ url }).seeds[0] === first.host) return url
  }
  throw new Error('no URL found')
}

describe('request SDK: seeds made by hand that break at the edges', function () {
  this.timeout(60000)
  const data = randomBytes(100000, 41)
  const store = new MemStore()
  let hash: Uint8Array
  const started: FakeSeed[] = []
  const start = async (behave?: Parameters<typeof FakeSeed.start>[2]): Promise<FakeSeed> => {
    const seed = await FakeSeed.start(store, hash, behave)
    started.push(seed)
    return seed
  }

  before(async () => { hash = (await store.addBytes(data)).hash })
  afterEach(async () => { await Promise.all(started.splice(0).map(async seed => { await seed.stop() })) })

  it('an error answer (503) whose body breaks off is that seed\'s failure: the next seed answers', async () => {
    const bad = await start((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain', 'content-length': '1000' })
      res.write('overloaded, and then')
      setTimeout(() => { res.destroy() }, 20)
      return true
    })
    const good = await start()
    const client = createRequestClient({ seeds: [bad.host, good.host] })
    try {
      const res = await client.get({ url: urlFirstAt(client, bad), headers: { range: 'bytes=1000-1999' } })
      assert.ok((await read(res)).equals(data.subarray(1000, 2000)))
      assert.deepEqual(res.servedBy, [good.host])
    } finally {
      await client.close()
    }
  })

  it('a seed that fails after the last byte of its range (trailing bytes, or cut before its end): the body is whole, no empty range is asked of the next seed', async () => {
    for (const range of [undefined, 'bytes=99000-', 'bytes=-500', 'bytes=5-5', 'bytes=16384-32767']) {
      for (const how of ['trailing', 'cut']) {
        for (const verify of [true, false]) {
          // Past a content-length nothing is read as this answer's.
          if (how === 'trailing' && !verify) continue
          const bad = await start((_req, res, honest) => {
            // Plain bytes keep their content-length (the count is what checks them); the encoded stream has none.
            res.writeHead(honest.status, honest.headers)
            if (how === 'trailing') {
              // The whole answer, then bytes it did not announce.
              res.write(honest.body)
              res.end(Buffer.alloc(10, 1))
            } else {
              // Every byte of the answer, then the connection drops (before the chunked end).
              res.write(honest.body, () => { setTimeout(() => { res.destroy() }, 20) })
            }
            return true
          })
          const good = await start()
          const client = createRequestClient({ seeds: [bad.host, good.host], verify })
          try {
            const res = await client.get({ url: urlFirstAt(client, bad), ...(range === undefined ? {} : { headers: { range } }) })
            const got = await read(res)
            const start = range === undefined ? 0 : range === 'bytes=-500' ? data.length - 500 : Number(/=(\d+)/.exec(range)?.[1])
            const end = range === undefined || range.endsWith('-') || range === 'bytes=-500' ? data.length : Number(/-(\d+)$/.exec(range)?.[1]) + 1
            assert.ok(got.equals(data.subarray(start, end)), `${how} ${range ?? 'whole'} verify ${String(verify)}: ${got.length} bytes`)
            assert.deepEqual(good.ranges, [], `${how} ${range ?? 'whole'} verify ${String(verify)}: the next seed was asked ${String(good.ranges)}`)
          } finally {
            await client.close()
          }
        }
      }
    }
  })

  it('a conditional get without verification: a 304 is the answer, not a seed failing', async () => {
    const first = await start((req, res) => {
      if (req.headers['if-none-match'] === undefined) return false
      res.writeHead(304, { etag: '"x"' })
      res.end()
      return true
    })
    const second = await start()
    const client = createRequestClient({ seeds: [first.host, second.host], verify: false })
    try {
      const url = urlFirstAt(client, first)
      const res = await client.get({ url, headers: { 'if-none-match': '"x"' } })
      assert.equal(res.status, 304)
      assert.equal((await read(res)).length, 0)
      assert.deepEqual(res.servedBy, [first.host])
      assert.equal(second.ranges.length, 0, 'the next seed was not asked')
      // Not marked down: the next get goes to it again.
      const again = await client.get({ url })
      assert.equal(again.seed, first.host)
      assert.equal((await read(again)).length, data.length)
    } finally {
      await client.close()
    }
  })

  it('a status that is neither 200 nor 206 (nor 304 to a conditional get) is SeedAnswerInvalid: the next seed answers', async () => {
    for (const status of [203, 302, 299]) {
      const bad = await start((_req, res, honest) => {
        res.writeHead(status, honest.headers)
        res.end(honest.body)
        return true
      })
      const good = await start()
      const client = createRequestClient({ seeds: [bad.host, good.host] })
      try {
        const res = await client.get({ url: urlFirstAt(client, bad), headers: { range: 'bytes=10-19' } })
        assert.equal(res.status, 206)
        assert.ok((await read(res)).equals(data.subarray(10, 20)))
        assert.deepEqual(res.servedBy, [good.host], `status ${status}`)
      } finally {
        await client.close()
      }
    }
  })

  it('Accept: application/x-bao asks for the encoded stream, unless its weight is 0', () => {
    for (const accept of ['application/x-bao', 'Application/X-Bao', 'text/plain, application/x-bao;q=0.5', 'application/x-bao; q=1']) assert.equal(wantsBao(accept), true, accept)
    for (const accept of [undefined, '', '*/*', 'application/*', 'application/x-bao;q=0', 'application/x-bao; q=0.0, */*', 'application/x-baox']) assert.equal(wantsBao(accept), false, String(accept))
  })

  it('a seed that lies about the size (a group before the blob\'s last one does not prove it): the honest seed that resumes is not marked down for disagreeing', async () => {
    // 100,000 bytes are 98 chunks, whose root splits at 64 as 70,000 bytes (69 chunks) would: the
    // first 64 chunks verify under either size, only the last chunk proves it.
    const claimed = 70000
    const liar = await start((_req, res, honest) => {
      const body = Buffer.from(honest.body)
      body.writeBigUInt64LE(BigInt(claimed), 0)
      res.writeHead(honest.status, { ...honest.headers, 'x-verity-size': String(claimed), 'x-verity-content-range': `bytes 0-${claimed - 1}/${claimed}` })
      res.end(body)
      return true
    })
    const good = await start()
    const client = createRequestClient({ seeds: [liar.host, good.host] })
    try {
      const res = await client.get({ url: urlFirstAt(client, liar) })
      await assert.rejects(read(res), { name: 'NoSeedAvailable' })
      const health = (client as unknown as { health: SeedHealth }).health
      assert.equal(health.isDown(liar.host, Date.now()), true, 'the liar is down')
      assert.equal(health.isDown(good.host, Date.now()), false, 'the honest seed is not')
    } finally {
      await client.close()
    }
  })

  it('a seed taken off the list (setSeeds) while a get is under way is skipped when the body resumes, not a TypeError', async () => {
    let die: () => void = () => {}
    const dying = new Promise<void>(resolve => { die = resolve })
    const first = await start((_req, res, honest) => {
      res.writeHead(honest.status, honest.headers)
      res.write(honest.body.subarray(0, 50000))
      void dying.then(() => { res.destroy() })
      return true
    })
    const removed = await start()
    const last = await start()
    const client = createRequestClient({ seeds: [first.host, removed.host, last.host] })
    try {
      let url = ''
      for (let i = 0; url === '' && i < 10000; i++) {
        const seeds = client.route({ url: `http://origin.test/file?v=${i}` }).seeds
        if (seeds[0] === first.host && seeds[1] === removed.host) url = `http://origin.test/file?v=${i}`
      }
      const res = await client.get({ url })
      client.setSeeds([first.host, last.host])
      die()
      assert.ok((await read(res)).equals(data))
      assert.deepEqual(res.servedBy, [first.host, last.host])
      assert.equal(removed.ranges.length, 0)
    } finally {
      await client.close()
    }
  })

  it('a body cut at any byte resumes at the next seed from the first byte not delivered: group edges, one byte before the end, ranges of every form', async () => {
    const expected = (range: string | undefined): [number, number] => {
      if (range === undefined) return [0, data.length]
      if (range.startsWith('bytes=-')) return [data.length - Number(range.slice(7)), data.length]
      const [from, to] = range.slice(6).split('-')
      return [Number(from), to === '' ? data.length : Number(to) + 1]
    }
    for (const range of [undefined, 'bytes=100-', 'bytes=-500', 'bytes=16384-32767', 'bytes=16000-16999', `bytes=0-${data.length - 1}`]) {
      for (const verify of [true, false]) {
        const [from, to] = expected(range)
        const cuts = verify ? [9, 1000, 16392, 20000, 40000] : [1, 16383, 16384, 16385, to - from - 1].filter(cut => cut > 0 && cut < to - from)
        for (const cut of cuts) {
          const bad = await start((_req, res, honest) => {
            if (cut >= honest.body.length) return false
            res.writeHead(honest.status, honest.headers)
            res.write(honest.body.subarray(0, cut), () => { setTimeout(() => { res.destroy() }, 20) })
            return true
          })
          const good = await start()
          const client = createRequestClient({ seeds: [bad.host, good.host], verify })
          try {
            const res = await client.get({ url: urlFirstAt(client, bad), ...(range === undefined ? {} : { headers: { range } }) })
            const what = `${range ?? 'whole'} verify ${String(verify)} cut ${cut}`
            assert.ok((await read(res)).equals(data.subarray(from, to)), what)
            if (!verify) assert.deepEqual(good.ranges, [`bytes=${from + cut}-${to - 1}`], what)
          } finally {
            await client.close()
          }
        }
      }
    }
  })

  it('an empty blob: the whole of it is no bytes, verified; a range of it is 416', async () => {
    const empty = (await store.addBytes(new Uint8Array(0))).hash
    const seed = await FakeSeed.start(store, empty)
    started.push(seed)
    for (const verify of [true, false]) {
      const client = createRequestClient({ seeds: [seed.host], verify })
      try {
        const res = await client.get({ url: 'http://origin.test/empty' })
        assert.equal(res.status, 200)
        assert.equal((await read(res)).length, 0)
        assert.equal(res.headers['content-length'], '0')
        await assert.rejects(client.get({ url: 'http://origin.test/empty', headers: { range: 'bytes=0-' } }), { name: 'RequestFailed', status: 416 })
      } finally {
        await client.close()
      }
    }
  })
})
