import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { blake3 } from '../../../store/bao/hash.js'
import { SingleFlight } from '../../../src/origin/single-flight.js'
import { randomBytes, rejection } from '../../helpers.js'
import { originFixture } from './fixture.js'

describe('origins: single flight (one origin fetch per task in a process)', function () {
  this.timeout(120000)
  const t = originFixture('verity-origin-flight-')

  it('20 concurrent imports of one URL: one download, one hash for all', async () => {
    const data = randomBytes(8 << 20, 1)
    const url = t.server.put('/popular', data)
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await t.origins.import(`${url}?caller=${i}`, { filter: ['caller'], pieceSize: 1 << 20 })))
    const served = t.server.stats('/popular')
    assert.ok(served.bytes <= data.length * 1.05, `served ${served.bytes} bytes for ${data.length}`)
    assert.equal(served.heads, 1)
    for (const result of results) {
      assert.deepEqual(result.hash, blake3(data))
      assert.equal(result.taskId, results[0]?.taskId)
    }
  })

  it('every caller gets the same error', async () => {
    const url = t.server.put('/denied', new Uint8Array(100), { status: 403 })
    const errors = await Promise.all(Array.from({ length: 5 }, async () => await rejection(async () => await t.origins.import(url))))
    assert.deepEqual(errors.map(err => err.name), Array(5).fill('OriginDenied'))
    assert.equal(new Set(errors).size, 1, 'one error, shared')
    assert.equal(t.server.stats('/denied').heads, 1)
  })

  it('one caller aborting does not fail the others', async () => {
    const data = randomBytes(3 << 20, 2)
    const url = t.server.put('/slow', data, { rate: 1 << 20 })
    const quitter = new AbortController()
    const imports = Array.from({ length: 4 }, async (_, i) => await t.origins.import(url, { pieceSize: 1 << 20, ...(i === 0 ? { signal: quitter.signal } : {}) }))
    await delay(150)
    quitter.abort()
    const [first, ...others] = await Promise.allSettled(imports)
    assert.equal(first?.status, 'rejected')
    assert.equal((first as PromiseRejectedResult).reason.name, 'AbortError')
    for (const other of others) {
      assert.equal(other.status, 'fulfilled')
      assert.deepEqual((other as PromiseFulfilledResult<{ hash: Uint8Array }>).value.hash, blake3(data))
    }
    assert.ok(t.server.stats('/slow').bytes <= data.length * 1.05)
  })

  it('all callers aborting stops the fetch; the next import resumes it', async () => {
    const data = randomBytes(4 << 20, 3)
    const url = t.server.put('/abandoned', data, { rate: 1 << 20 })
    const controllers = Array.from({ length: 3 }, () => new AbortController())
    const imports = controllers.map(async controller => await t.origins.import(url, { pieceSize: 1 << 20, signal: controller.signal }))
    await delay(300)
    for (const controller of controllers) controller.abort()
    const settled = await Promise.allSettled(imports)
    assert.ok(settled.every(s => s.status === 'rejected'))
    await delay(300)
    const stopped = t.server.stats('/abandoned').bytes
    await delay(500)
    assert.equal(t.server.stats('/abandoned').bytes, stopped, 'nothing more served once every caller left')
    assert.ok(stopped < data.length, `served ${stopped} of ${data.length}`)
    t.server.misbehave('/abandoned', {})
    const result = await t.origins.import(url, { pieceSize: 1 << 20 })
    assert.deepEqual(result.hash, blake3(data))
    assert.ok(t.server.stats('/abandoned').bytes < data.length * 1.3, `served ${t.server.stats('/abandoned').bytes} in all: the second import resumed`)
  })
})

describe('SingleFlight', () => {
  it('a run asked for while an abandoned one is stopping starts after it has stopped', async () => {
    const flights = new SingleFlight<string, never>()
    const log: string[] = []
    const first = new AbortController()
    const abandoned = flights.run('k', async signal => {
      log.push('first started')
      await new Promise(resolve => signal.addEventListener('abort', resolve))
      await delay(50)
      log.push('first stopped')
      throw signal.reason
    }, { signal: first.signal })
    await delay(10)
    first.abort()
    await rejection(async () => await abandoned)
    const second = await flights.run('k', async () => {
      log.push('second started')
      return 'done'
    })
    assert.equal(second, 'done')
    assert.deepEqual(log, ['first started', 'first stopped', 'second started'])
  })
})
