import assert from 'node:assert/strict'
import { blake3 } from '../../../store/bao/hash.js'
import type { OriginForbiddenAddress } from '../../../src/origin/errors.js'
import { randomBytes, rejection } from '../../helpers.js'
import { originFixture } from './fixture.js'
import { OriginServer } from './origin-server.js'

const PUBLIC = { reach: 'public' } as const

describe('origins.import with addressPolicy: connections made for others reach public addresses only', function () {
  this.timeout(60000)
  const t = originFixture('verity-address-policy-')
  let other: OriginServer

  beforeEach(async () => { other = await OriginServer.start() })
  afterEach(async () => { await other.stop() })

  it('a literal loopback address is refused by name before any request; the node\'s own import reaches it', async () => {
    const url = t.server.put('/x', randomBytes(5000, 1))
    const err = await rejection(async () => await t.origins.import(url, { addressPolicy: PUBLIC }))
    assert.equal(err.name, 'OriginForbiddenAddress')
    const forbidden = err as OriginForbiddenAddress
    assert.equal(forbidden.host, '127.0.0.1')
    assert.equal(forbidden.kind, 'loopback')
    assert.equal(forbidden.url, url)
    assert.match(err.message, /127\.0\.0\.1 is a loopback address.*--origin-allow/)
    assert.deepEqual(t.server.stats('/x'), { heads: 0, gets: 0, notModified: 0, bytes: 0 })
    const own = await t.origins.import(url)
    assert.equal(own.size, 5000)
  })

  it('a host name is checked on the address it resolves to (localhost), in the connection\'s lookup', async () => {
    const url = `http://localhost:${t.server.port}/y`
    t.server.put('/y', randomBytes(100, 2))
    const err = await rejection(async () => await t.origins.import(url, { addressPolicy: PUBLIC }))
    assert.equal(err.name, 'OriginForbiddenAddress')
    assert.equal((err as OriginForbiddenAddress).host, 'localhost')
    assert.equal((err as OriginForbiddenAddress).kind, 'loopback')
    assert.match(err.message, /localhost is at (127\.0\.0\.1|::1), a loopback address/)
    assert.equal(t.server.stats('/y').heads + t.server.stats('/y').gets, 0)
  })

  it('a prefix in privateAllowed reaches its address; a redirect from it to another port or to localhost is refused', async () => {
    const data = randomBytes(20000, 3)
    const allowed = { reach: 'public', privateAllowed: [t.server.url('/')] } as const
    const ok = await t.origins.import(t.server.put('/ok', data), { addressPolicy: allowed })
    assert.deepEqual(ok.hash, blake3(data))
    other.put('/secret', randomBytes(100, 4))
    for (const [path, target] of [['/hop-ip', other.url('/secret')], ['/hop-name', `http://localhost:${other.port}/secret`]] as const) {
      const url = t.server.redirect(path, 302, target)
      const err = await rejection(async () => await t.origins.import(url, { addressPolicy: allowed }))
      assert.equal(err.name, 'OriginForbiddenAddress', `${path}: ${err.message}`)
      assert.match(err.message, /redirected from/)
      assert.equal(t.server.stats(path).heads, 1, 'the allowed origin was asked')
    }
    assert.deepEqual(other.stats('/secret'), { heads: 0, gets: 0, notModified: 0, bytes: 0 }, 'the redirect targets saw nothing')
    // The same redirect for the node itself is followed.
    const own = await t.origins.import(t.server.url('/hop-ip'))
    assert.equal(own.size, 100)
  })

  it('one task, two callers: the node\'s own import that shared a refused fetch fetches again; a public-only caller gets a known task, never a revalidation', async () => {
    const data = randomBytes(300000, 5)
    const url = t.server.put('/shared', data)
    const [remote, own] = await Promise.allSettled([
      t.origins.import(url, { addressPolicy: PUBLIC }).result,
      t.origins.import(url).result
    ])
    assert.equal(remote.status, 'rejected')
    assert.equal((remote.reason as Error).name, 'OriginForbiddenAddress')
    assert.equal(own.status, 'fulfilled')
    assert.deepEqual(own.value.hash, blake3(data))
    const asked = { ...t.server.stats('/shared') }
    const known = await t.origins.import(url, { addressPolicy: PUBLIC })
    assert.equal(known.source, 'known')
    const revalidate = await rejection(async () => await t.origins.import(url, { addressPolicy: PUBLIC, revalidate: true }))
    assert.equal(revalidate.name, 'OriginForbiddenAddress')
    assert.deepEqual(t.server.stats('/shared'), asked, 'nothing more asked of the origin')
  })

  it('a bad policy is a TypeError', async () => {
    assert.throws(() => t.origins.import(t.server.url('/z'), { addressPolicy: { reach: 'some' } as never }), TypeError)
    assert.throws(() => t.origins.import(t.server.url('/z'), { addressPolicy: { reach: 'public', privateAllowed: ['not a url'] } }), /privateAllowed must hold absolute URLs/)
  })
})
