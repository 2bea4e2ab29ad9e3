import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemStore } from '../../../store/mem-store.js'
import { Origins } from '../../../src/origin/origins.js'
import { safeUrlOf, scrub } from '../../../src/origin/safe-url.js'
import { taskIdOf, taskUrlOf } from '../../../src/origin/task-id.js'
import { defaultPieceSize, groupAligned, piecesOf } from '../../../src/origin/pieces.js'
import { rejection } from '../../helpers.js'
import { OriginServer } from './origin-server.js'

const MB = 1 << 20

describe('origins: task ids, safe URLs and piece sizes', () => {
  it('the same URL with another value of a filtered parameter has the same id', () => {
    const filter = ['token', 'X-Amz-Signature']
    const a = taskIdOf('https://cdn.example.com/a/b.tar?v=2&token=abc&X-Amz-Signature=1', { filter })
    const b = taskIdOf('https://cdn.example.com/a/b.tar?token=zzz&v=2&X-Amz-Signature=2', { filter })
    assert.equal(a, b)
    assert.match(a, /^[0-9a-f]{64}$/)
    // Without the filter they differ, and an unfiltered parameter still counts.
    assert.notEqual(taskIdOf('https://cdn.example.com/a/b.tar?v=2&token=abc'), taskIdOf('https://cdn.example.com/a/b.tar?v=2&token=zzz'))
    assert.notEqual(taskIdOf('https://cdn.example.com/a/b.tar?v=2&token=abc', { filter }), taskIdOf('https://cdn.example.com/a/b.tar?v=3&token=abc', { filter }))
  })

  it('the order of parameters does not count; the order of one name\'s values does', () => {
    assert.equal(taskIdOf('http://h/p?b=2&a=1&c=3'), taskIdOf('http://h/p?c=3&a=1&b=2'))
    assert.notEqual(taskIdOf('http://h/p?a=1&a=2'), taskIdOf('http://h/p?a=2&a=1'))
    assert.equal(taskUrlOf('HTTP://H:80/x/../p?b=2&a=1#frag'), 'http://h/p?a=1&b=2')
    assert.equal(taskUrlOf('http://h/p?token=1', ['token']), 'http://h/p')
  })

  it('another tag or application makes another id; an empty one counts as none', () => {
    const url = 'http://h/p'
    const plain = taskIdOf(url)
    assert.notEqual(taskIdOf(url, { tag: 'a' }), plain)
    assert.notEqual(taskIdOf(url, { tag: 'a' }), taskIdOf(url, { tag: 'b' }))
    assert.notEqual(taskIdOf(url, { application: 'a' }), taskIdOf(url, { tag: 'a' }))
    assert.equal(taskIdOf(url, { tag: '' }), plain)
  })

  it('hashes exactly the bytes docs/origins.md gives', () => {
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex')
    assert.equal(taskIdOf('http://h/p?z=1&a=2&t=x', { filter: ['t'] }), sha('http://h/p?a=2&z=1'))
    assert.equal(taskIdOf('http://h/p', { tag: 'v1', application: 'ci' }), sha('http://h/p\0tag=v1\0application=ci'))
    assert.equal(taskIdOf('http://h/p', { application: 'ci' }), sha('http://h/p\0application=ci'))
  })

  it('refuses what is not a URL, a filter or a tag, naming the argument and not the text', () => {
    assert.throws(() => taskIdOf('not a url with secret'), (err: Error) => err.name === 'TypeError' && !err.message.includes('secret'))
    assert.throws(() => taskIdOf('http://h/p', { filter: 'token' as unknown as string[] }), /filter must be an array/)
    assert.throws(() => taskIdOf('http://h/p', { tag: 'a\0b' }), (err: Error) => err.name === 'RangeError' && /tag/.test(err.message))
  })

  it('safe URLs carry no credentials, filtered parameters or fragment; scrub takes them out of any text', () => {
    const url = 'https://alice:s3cret@example.com/f?token=T0KEN&v=1#x'
    assert.equal(safeUrlOf(url, ['token']), 'https://example.com/f?v=1')
    const text = scrub(`failed to fetch ${url} as alice with s3cret and T0KEN`, new URL(url), ['token'])
    assert.ok(!/s3cret|T0KEN|alice/.test(text), text)
  })

  it('piece sizes follow Dragonfly\'s rule, in whole 16 KiB groups', () => {
    assert.equal(defaultPieceSize(0), 4 * MB)
    assert.equal(defaultPieceSize(200 * MB - 1), 4 * MB)
    assert.equal(defaultPieceSize(200 * MB), 4 * MB)
    assert.equal(defaultPieceSize(1024 * MB), 12 * MB)
    assert.equal(defaultPieceSize(5000 * MB), 15 * MB)
    assert.equal(groupAligned(1), 16384)
    assert.equal(groupAligned(100000), 7 * 16384)
    assert.deepEqual(piecesOf(10, 4), [{ offset: 0, length: 4 }, { offset: 4, length: 4 }, { offset: 8, length: 2 }])
    assert.deepEqual(piecesOf(0, 4), [])
    assert.throws(() => piecesOf(10, 0), RangeError)
  })
})

describe('origins: credentials never in messages', function () {
  this.timeout(60000)
  let server: OriginServer
  let origins: Origins
  let store: MemStore
  let dir: string
  before(async () => {
    server = await OriginServer.start()
    store = new MemStore()
    dir = mkdtempSync(join(tmpdir(), 'verity-origin-ids-'))
    origins = await Origins.create({ store }, { dataDir: dir, http: { retry: { retries: 0 } } })
  })
  after(async () => {
    await origins.close()
    await store.close()
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('an origin failure names the URL without its password or filtered token', async () => {
    server.put('/private', new Uint8Array(10), { status: 403 })
    const url = `http://bob:hunter22@127.0.0.1:${server.port}/private?sig=SIGNATURE&v=1`
    const err = await rejection(async () => await origins.import(url, { filter: ['sig'] }))
    assert.equal(err.name, 'OriginDenied')
    assert.ok(err.message.includes(`http://127.0.0.1:${server.port}/private?v=1`), err.message)
    assert.ok(!/hunter22|SIGNATURE|bob/.test(`${err.message} ${err.stack ?? ''}`), err.message)
    const missing = await rejection(async () => await origins.import(`http://bob:hunter22@127.0.0.1:${server.port}/nothing?sig=SIGNATURE`, { filter: ['sig'] }))
    assert.equal(missing.name, 'OriginNotFound')
    assert.ok(!/hunter22|SIGNATURE/.test(missing.message), missing.message)
  })
})
