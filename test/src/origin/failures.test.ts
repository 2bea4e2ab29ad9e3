import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { blake3 } from '../../../store/bao/hash.js'
import { MemStore } from '../../../store/mem-store.js'
import { Origins } from '../../../src/origin/origins.js'
import { randomBytes, rejection } from '../../helpers.js'
import { OriginServer, type Misbehaviour } from './origin-server.js'
import { originFixture } from './fixture.js'

const SIZE = (2 << 20) + 4321
const PIECE = 1 << 20

describe('origins: origin failures, each a named error, nothing unverified stored', function () {
  this.timeout(120000)
  const t = originFixture('verity-origin-fail-', { init: { http: { idleTimeoutMs: 400, retry: { retries: 2, backoffMs: 20 } } } })

  /** The t.store holds no blob at all (what was staged is not the store's). */
  async function storeIsEmpty (): Promise<void> {
    const blobs = []
    for await (const blob of t.store.list()) blobs.push(blob)
    assert.deepEqual(blobs, [])
  }

  async function failing (path: string, behaviour: Misbehaviour, data = randomBytes(SIZE, 1)): Promise<Error> {
    const err = await rejection(async () => await t.origins.import(t.server.put(path, data, behaviour), { pieceSize: PIECE }))
    assert.ok(err.message.includes(t.server.url(path)), `names the URL: ${err.message}`)
    return err
  }

  it('404 is OriginNotFound', async () => {
    const err = await failing('/missing', { status: 404 })
    assert.equal(err.name, 'OriginNotFound')
    assert.equal((err as { status?: number }).status, 404)
    await storeIsEmpty()
  })

  it('403 and 401 are OriginDenied', async () => {
    assert.equal((await failing('/secret', { status: 403 })).name, 'OriginDenied')
    assert.equal((await failing('/login', { status: 401 })).name, 'OriginDenied')
    await storeIsEmpty()
  })

  it('a 500 is retried and then succeeds (Retry-After honoured); 500 every time is OriginUnavailable', async () => {
    const data = randomBytes(SIZE, 2)
    const started = Date.now()
    const result = await t.origins.import(t.server.put('/flaky', data, { failFirst: { count: 2, status: 503, retryAfter: '1' } }), { pieceSize: SIZE })
    assert.ok(Date.now() - started >= 1900, 'waited as Retry-After asked, twice')
    assert.deepEqual(result.hash, blake3(data))
    assert.equal(t.server.stats('/flaky').gets, 3)
    const err = await failing('/broken', { status: 500 })
    assert.equal(err.name, 'OriginUnavailable')
    assert.equal(t.server.stats('/broken').heads, 3, 'the head tried three times (two retries)')
  })

  it('a connection reset mid-piece is retried from the byte it stopped at', async () => {
    const data = randomBytes(SIZE, 3)
    const result = await t.origins.import(t.server.put('/reset', data, { resetAfter: { bytes: 300000, times: 2 } }), { pieceSize: PIECE })
    assert.deepEqual(result.hash, blake3(data))
    assert.ok(Buffer.from(await t.store.getBytes(result.hash)).equals(data))
    assert.ok(t.server.stats('/reset').bytes < data.length * 1.05, `served ${t.server.stats('/reset').bytes} bytes for ${data.length}`)
  })

  it('resets before any byte every time: OriginUnavailable once the retries are spent, the staged part kept but not in the store', async () => {
    const url = t.server.put('/always-reset', randomBytes(SIZE, 7), { resetAfter: { bytes: 0, fromGet: 2 } })
    const err = await rejection(async () => await t.origins.import(url, { pieceSize: PIECE, concurrency: 1 }))
    assert.equal(err.name, 'OriginUnavailable')
    assert.equal(t.server.stats('/always-reset').gets, 4, 'the first piece, then the second tried three times')
    await storeIsEmpty()
    assert.ok(readdirSync(join(t.dir, 'origins', 'staging')).some(name => name.endsWith('.part')), 'staged bytes kept for a resume')
  })

  it('a stall past the idle timeout is OriginTimeout; a stall mid-body is retried from where it stopped', async () => {
    const started = Date.now()
    const err = await failing('/stall', { stallAfter: 0 })
    assert.equal(err.name, 'OriginTimeout')
    assert.ok(Date.now() - started < 10000)
    await storeIsEmpty()
    const data = randomBytes(SIZE, 8)
    const result = await t.origins.import(t.server.put('/stall-once', data, { stallAfter: 700000 }), { pieceSize: SIZE })
    assert.deepEqual(result.hash, blake3(data))
    assert.equal(t.server.stats('/stall-once').gets, 4, 'three tries stalled after 700000 bytes each')
  })

  it('the file changing during the download (its ETag moves) is OriginChanged, and its staged bytes go', async () => {
    const err = await failing('/moving', { changeAfter: { afterGets: 1 } })
    assert.equal(err.name, 'OriginChanged')
    await storeIsEmpty()
    assert.deepEqual(readdirSync(join(t.dir, 'origins', 'staging')), [])
  })

  it('a t.server sending fewer bytes than its Content-Length: retried, then OriginUnavailable; never short data', async () => {
    const err = await failing('/short', { shortBy: 1000 })
    assert.equal(err.name, 'OriginUnavailable')
    await storeIsEmpty()
  })

  it('a t.server sending more bytes than its Content-Length: the extra bytes are not taken as data', async () => {
    const data = randomBytes(SIZE, 4)
    const result = await t.origins.import(t.server.put('/long', data, { extraBytes: 5000 }), { pieceSize: PIECE })
    assert.deepEqual(result.hash, blake3(data))
    assert.ok(Buffer.from(await t.store.getBytes(result.hash)).equals(data))
  })

  it('a t.server that ignores Range (200 for a ranged GET) is fetched in one piece, right', async () => {
    const data = randomBytes(SIZE, 5)
    const result = await t.origins.import(t.server.put('/norange', data, { ignoreRange: true }), { pieceSize: PIECE })
    assert.deepEqual(result.hash, blake3(data))
    assert.ok(t.server.stats('/norange').bytes < 4 * data.length, `served ${t.server.stats('/norange').bytes}`)
  })

  it('a t.server that refuses HEAD gives its size to a ranged GET', async () => {
    const data = randomBytes(SIZE, 6)
    const result = await t.origins.import(t.server.put('/nohead', data, { noHead: true }), { pieceSize: PIECE })
    assert.deepEqual(result.hash, blake3(data))
  })

  it('a refused connection is OriginUnavailable naming the URL; an unknown scheme is UnsupportedScheme', async () => {
    const port = t.server.port
    await t.server.stop()
    const err = await rejection(async () => await t.origins.import(`http://127.0.0.1:${port}/gone`))
    assert.equal(err.name, 'OriginUnavailable')
    assert.match(err.message, /ECONNREFUSED/)
    t.server = await OriginServer.start()
    assert.equal((await rejection(async () => await t.origins.import('gopher://example.com/x'))).name, 'UnsupportedScheme')
    await storeIsEmpty()
  })
})

describe('origins: http redirects and headers', function () {
  this.timeout(60000)
  let store: MemStore
  let origins: Origins
  let server: OriginServer
  let other: OriginServer

  beforeEach(async () => {
    store = new MemStore()
    origins = await Origins.create({ store }, { http: { retry: { retries: 0 } } })
    server = await OriginServer.start()
    other = await OriginServer.start()
  })
  afterEach(async () => {
    await origins.close()
    await store.close()
    await server.stop()
    await other.stop()
  })

  it('follows redirects, passes the caller\'s headers, and keeps credentials from another origin', async () => {
    const data = randomBytes(300000, 9)
    const target = other.put('/real.bin', data)
    server.put('/here.bin', data)
    const local = server.redirect('/moved', 302, '/here.bin')
    const away = server.redirect('/away', 307, `${target}?X-Amz-Signature=SECRET`)
    const headers = { authorization: 'Bearer T', 'X-Custom': 'yes' }
    assert.deepEqual((await origins.import(local, { headers })).hash, blake3(data))
    assert.equal(server.stats('/here.bin').headers?.authorization, 'Bearer T', 'same origin: credentials go along')
    assert.equal(server.stats('/here.bin').headers?.['x-custom'], 'yes')
    assert.deepEqual((await origins.import(away, { headers })).hash, blake3(data))
    assert.equal(other.stats('/real.bin').headers?.authorization, undefined, 'another origin: no credentials')
    assert.equal(other.stats('/real.bin').headers?.['x-custom'], 'yes')
  })

  it('a redirect loop is OriginBadResponse after 10 redirects, naming neither the signature nor the loop\'s query', async () => {
    server.redirect('/loop', 302, '/loop?X-Amz-Signature=SECRET')
    const err = await rejection(async () => await origins.import(server.url('/loop')))
    assert.equal(err.name, 'OriginBadResponse')
    assert.match(err.message, /more than 10 redirects/)
    assert.ok(!err.message.includes('SECRET'), err.message)
    assert.equal(server.stats('/loop').heads, 11)
  })
})
