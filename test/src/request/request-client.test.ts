import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequestClient, HttpRequestClient, parseSeedFile, watchSeedFile } from '../../../src/request/index.js'
import { SeedHealth } from '../../../src/request/seed-health.js'
import { SeedList } from '../../../src/request/seed-list.js'
import { TestServer } from './test-server.js'

async function until (check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

describe('request SDK: stand-in seeds, seed health and the seed list', function () {
  this.timeout(30000)
  let a: TestServer
  let b: TestServer
  beforeEach(async () => { a = await TestServer.start(); b = await TestServer.start() })
  afterEach(async () => { await a.stop(); await b.stop() })

  it('warmup: true connects to each seed, and to one added by setSeeds, before its first get', async () => {
    const host = (server: TestServer): string => new URL(server.address).host
    // Stand-in seeds send plain bytes: verify: false.
    const client = createRequestClient({ seeds: [host(a)], warmup: true, verify: false })
    try {
      await until(() => a.connections === 1, 'a warmed')
      assert.equal(b.connections, 0)
      client.setSeeds([host(a), host(b)])
      await until(() => b.connections === 1, 'b warmed')
      let url = ''
      for (let i = 0; url === ''; i++) if (client.route({ url: `http://origin.test/${i}` }).seeds[0] === host(b)) url = `http://origin.test/${i}`
      const res = await client.get({ url })
      assert.equal(res.seed, host(b))
      let bytes = 0
      for await (const part of res.body) bytes += part.length
      assert.equal(bytes, url.length * 1000)
      assert.equal(b.connections, 1, 'the get used the warmed connection')
      assert.equal(client.stats().requestsSent, 1)
    } finally {
      await client.close()
    }
  })

  it('readable(): the body as a web ReadableStream; cancelling it stops the transfer', async () => {
    const transport = new HttpRequestClient()
    const client = createRequestClient({ seeds: [new URL(a.address).host], transport, verify: false })
    try {
      const whole = await client.get({ url: 'http://origin.test/x' })
      const reader = whole.readable().getReader()
      let text = ''
      for (let next = await reader.read(); next.done !== true; next = await reader.read()) text += Buffer.from(next.value).toString()
      assert.equal(text, 'http://origin.test/x'.repeat(1000))
      const big = await client.get({ url: `http://origin.test/${'y'.repeat(1000)}` })
      const partial = big.readable().getReader()
      assert.equal((await partial.read()).done, false)
      await partial.cancel()
      assert.deepEqual({ responses: transport.stats().responsesReceived, errors: transport.stats().errors }, { responses: 1, errors: 1 })
      // A body never read: cancel() ends its transfer (an unread body would hold its connection until close()'s timeout).
      const unread = await client.get({ url: `http://origin.test/${'z'.repeat(1000)}` })
      unread.cancel()
      await until(() => transport.stats().errors === 2, 'the unread body cancelled')
      const closing = performance.now()
      await transport.close({ timeoutMs: 5000 })
      assert.ok(performance.now() - closing < 4000, 'close() had nothing left to wait for')
    } finally {
      await client.close()
      await transport.close()
    }
  })

  it('a seed list file: read now and on each change into setSeeds; an unreadable or bad list keeps the last one', async () => {
    assert.deepEqual(parseSeedFile('# seeds\n10.0.0.1:8080\n\n  10.0.0.2:8080  # rack 2\n'), ['10.0.0.1:8080', '10.0.0.2:8080'])
    const dir = mkdtempSync(join(tmpdir(), 'verity-seed-file-'))
    const file = join(dir, 'seeds.txt')
    const client = createRequestClient({ seeds: [] })
    const controller = new AbortController()
    try {
      writeFileSync(file, 'a.test:1\n')
      watchSeedFile(file, seeds => { client.setSeeds(seeds) }, { intervalMs: 20, signal: controller.signal })
      assert.deepEqual(client.ring.members(), ['a.test:1'])
      writeFileSync(file, 'a.test:1\nb.test:2\nc.test:3\n')
      await until(() => client.ring.size === 3, 'the new list')
      writeFileSync(file, 'ftp://nope\n')
      await new Promise(resolve => setTimeout(resolve, 200))
      assert.deepEqual(client.ring.members(), ['a.test:1', 'b.test:2', 'c.test:3'])
      controller.abort()
      writeFileSync(file, 'd.test:4\n')
      await new Promise(resolve => setTimeout(resolve, 200))
      assert.equal(client.ring.size, 3)
    } finally {
      controller.abort()
      await client.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('SeedHealth: down for the backoff, doubling per failure in a row up to the cap; a success clears it', () => {
    const health = new SeedHealth(100, 350)
    assert.equal(health.isDown('s', 0), false)
    assert.equal(health.markDown('s', 1000), 1100)
    assert.equal(health.isDown('s', 1099), true)
    assert.equal(health.isDown('s', 1100), false)
    assert.equal(health.markDown('s', 2000), 2200)
    assert.equal(health.markDown('s', 3000), 3350)
    health.markUp('s')
    assert.equal(health.isDown('s', 3001), false)
    assert.equal(health.markDown('s', 4000), 4100)
  })

  it('SeedList: a reader gets the current list, then the newest after each change, and ends with end()', async () => {
    const list = new SeedList(['a'])
    const iterator = list[Symbol.asyncIterator]()
    assert.deepEqual((await iterator.next()).value, ['a'])
    const waiting = iterator.next()
    list.set(['a', 'b'])
    list.set(['a', 'b', 'c'])
    assert.deepEqual((await waiting).value, ['a', 'b', 'c'])
    const last = iterator.next()
    list.end()
    assert.equal((await last).done, true)
  })
})
