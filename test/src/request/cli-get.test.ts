import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { seedOrder } from '../../../src/cli/get-url.js'
import { taskIdOf } from '../../../src/origin/task-id.js'
import { randomBytes } from '../../helpers.js'
import { LOCAL, startVerity, verity } from '../cli-process.js'
import { OriginServer } from '../origin/origin-server.js'

describe('verity get <url> with several --seed: routed through the ring', function () {
  this.timeout(120000)
  let dir: string
  let server: OriginServer
  let seed: Awaited<ReturnType<typeof startVerity>>
  let live: string
  let dead: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-cli-ring-'))
    server = await OriginServer.start()
    seed = await startVerity(['serve', '--seed', '--origin-allow', server.url('/'), '--json', '--data-dir', join(dir, 'seed'), ...LOCAL]) // the origin is on 127.0.0.1
    live = (JSON.parse(seed.line) as { addrs: string[] }).addrs.find(addr => addr.includes('/tcp/')) as string
    const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    dead = `/ip4/127.0.0.1/tcp/1/p2p/${nobody}`
  })
  after(async () => {
    await seed.stop()
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('seedOrder is the ring order of the peer ids, whatever order the flags came in', () => {
    for (let i = 0; i < 20; i++) {
      const task = taskIdOf(`http://example.com/${i}`)
      const order = seedOrder([dead, live], task).map(s => s.id)
      assert.deepEqual(seedOrder([live, dead], task).map(s => s.id), order)
      assert.equal(new Set(order).size, 2)
    }
  })

  it('the seed the task hashes to is down: the next seed on the ring serves it', async () => {
    const data = randomBytes(200000, 31)
    let path = ''
    for (let i = 0; path === ''; i++) {
      if (seedOrder([dead, live], taskIdOf(server.url(`/routed-${i}.bin`)))[0]?.target === dead) path = `/routed-${i}.bin`
    }
    const url = server.put(path, data)
    const got = await verity(['get', url, '--seed', live, '--seed', dead, '-o', join(dir, 'out.bin'), '--data-dir', join(dir, 'cli')])
    assert.equal(got.status, 0, got.stderr)
    assert.match(got.stderr, /trying the next seed/)
    assert.ok(Buffer.from(data).equals(readFileSync(join(dir, 'out.bin'))))
    assert.equal(server.stats(path).heads, 1)
  })

  it('every seed down: NoSeedAvailable naming each', async () => {
    const other = `/ip4/127.0.0.1/tcp/2/p2p/${peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()}`
    const got = await verity(['get', server.put('/none.bin', new Uint8Array(10)), '--seed', dead, '--seed', other, '--data-dir', join(dir, 'cli-2')])
    assert.equal(got.status, 1)
    assert.match(got.stderr, /verity: NoSeedAvailable: no seed could take the request; tried /)
  })
})
