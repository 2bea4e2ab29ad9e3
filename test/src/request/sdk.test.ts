import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fileURLToPath } from 'node:url'
import { OriginError } from '../../../src/origin/errors.js'
import { createRequestClient, type RequestClient } from '../../../src/request/index.js'
import { createNode, type VerityNode } from '../../../src/index.js'
import { randomBytes } from '../../helpers.js'
import { LOCAL, startVerity } from '../cli-process.js'
import { OriginServer } from '../origin/origin-server.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'client-child.js')
const FILE_BYTES = 3 << 20
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

interface JobResult { seed: string, status: number, hash: string, servedBy: string[] }

/**
 * Runs a client process over `jobs`: per job, the seed that answered, the status, the body's
 * hash and the seeds that served it. `onFirst(i)` hears when job i's first bytes arrived.
 */
async function clientProcess (seeds: string[], jobs: Array<{ url: string, start: number, end: number, slowMs?: number }>, onFirst?: (job: number) => void): Promise<JobResult[]> {
  const proc = spawn(process.execPath, [child, seeds.join(','), JSON.stringify(jobs)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const results: JobResult[] = []
  let stderr = ''
  proc.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text })
  createInterface({ input: proc.stdout }).on('line', line => {
    const [first, seed, status, hash, servedBy] = line.split(' ') as [string, string, string, string, string]
    if (first === 'first') { onFirst?.(Number(seed)); return }
    results[Number(first)] = { seed, status: Number(status), hash, servedBy: servedBy.split('+') }
  })
  const code = await new Promise<number | null>(resolve => proc.once('close', resolve))
  assert.equal(code, 0, stderr)
  return results
}

/** The seeds as the SDK is given them: HTTP gateways, or multiaddrs with their peer ids. */
function seedAddress (transport: 'http' | 'libp2p', ready: { url: string, peerId: string, addrs: string[] }): { address: string, id: string } {
  if (transport === 'http') return { address: new URL(ready.url).host, id: new URL(ready.url).host }
  const addr = ready.addrs.find(a => a.includes('/quic-v1')) ?? ready.addrs[0] as string
  return { address: addr.includes('/p2p/') ? addr : `${addr}/p2p/${ready.peerId}`, id: ready.peerId }
}

for (const transport of ['http', 'libp2p'] as const) {
describe(`request SDK over ${transport}: three verity serve --seed processes behind the ring`, function () {
  this.timeout(300000)
  let dir: string
  let server: OriginServer
  let seeds: Array<Awaited<ReturnType<typeof startVerity>>>
  /** What the SDK is given (addresses) and what the ring holds (ids), seed by seed. */
  let addresses: string[]
  let ids: string[]
  let node: VerityNode | undefined
  let client: RequestClient
  const files: Array<{ path: string, url: string, data: Uint8Array }> = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-request-'))
    server = await OriginServer.start()
    // The origin is on 127.0.0.1: a seed reaches it for others only under --origin-allow.
    seeds = await Promise.all([0, 1, 2].map(async i => await startVerity(['serve', '--seed', '--origin-allow', server.url('/'), '--http', '127.0.0.1:0', '--json', '--data-dir', join(dir, `seed-${i}`), ...LOCAL])))
    const refs = seeds.map(seed => seedAddress(transport, JSON.parse(seed.line) as { url: string, peerId: string, addrs: string[] }))
    addresses = refs.map(ref => ref.address)
    ids = refs.map(ref => ref.id)
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(FILE_BYTES, 100 + i)
      files.push({ path: `/layer-${i}.bin`, url: server.put(`/layer-${i}.bin`, data), data })
    }
    node = transport === 'libp2p' ? await createNode() : undefined
    client = createRequestClient({ seeds: addresses, backoffMs: 60000, ...(node === undefined ? {} : { libp2p: node.libp2p }) })
  })
  after(async () => {
    await client.close()
    await node?.stop()
    await Promise.all(seeds.map(async seed => await seed.signal('SIGKILL')))
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** 10 ranged jobs for each of 3 processes: chunks spread over the 5 files. */
  function jobs (round: number): Array<Array<{ url: string, start: number, end: number, file: number, slowMs?: number }>> {
    return [0, 1, 2].map(p => Array.from({ length: 10 }, (_, j) => {
      const file = (p + j + round) % 5
      const start = ((p * 10 + j) * 262144 + round * 4096) % (FILE_BYTES - 300000)
      return { url: (files[file] as { url: string }).url, start, end: start + 262143 - j, file }
    }))
  }

  function check (job: { start: number, end: number, file: number }, got: JobResult): void {
    assert.equal(got.status, 206)
    assert.equal(got.hash, sha256((files[job.file] as { data: Uint8Array }).data.subarray(job.start, job.end + 1)))
  }

  it('30 ranged gets from 3 client processes for 5 files: each file from the origin once, every request for one file answered by one seed, the ring\'s; only the chunk groups under a range cross the network', async () => {
    const work = jobs(0)
    const results = await Promise.all(work.map(async list => await clientProcess(addresses, list)))
    const seedOf = new Map<number, Set<string>>()
    work.forEach((list, p) => list.forEach((job, j) => {
      const got = (results[p] as JobResult[])[j] as JobResult
      check(job, got)
      seedOf.set(job.file, (seedOf.get(job.file) ?? new Set()).add(got.seed))
    }))
    for (const [file, used] of seedOf) {
      assert.deepEqual([...used], [client.route({ url: (files[file] as { url: string }).url }).seeds[0]], `file ${file}`)
    }
    for (const file of files) {
      const served = server.stats(file.path)
      assert.equal(served.heads, 1, `${file.path}: ${JSON.stringify(served)}`)
      assert.ok(served.bytes <= FILE_BYTES * 1.05, `${file.path}: ${JSON.stringify(served)}`)
    }
    // 1,000 bytes in the middle of a 3 MiB file: the group under them (two at most) and the proof, not the file.
    const before = client.stats().bytesReceived
    const file = files[2] as { url: string, data: Uint8Array }
    const part = new Uint8Array(1000)
    const got = await client.getInto({ url: file.url, headers: { range: 'bytes=1500000-1500999' } }, part)
    assert.deepEqual(part, file.data.subarray(1500000, 1501000))
    const crossed = client.stats().bytesReceived - before
    assert.ok(crossed <= 2 * 16384 + 8 + 64 * 12, `${crossed} bytes crossed for 1,000`)
    assert.equal(got.headers['content-range'], `bytes 1500000-1500999/${FILE_BYTES}`)
    assert.equal(got.headers['content-length'], '1000')
  })

  it('getInto: an exact buffer, a larger one (bytesWritten tells), a too small one (BufferTooSmall, the buffer untouched)', async () => {
    const file = files[0] as { url: string, data: Uint8Array }
    const exact = new Uint8Array(1000)
    const got = await client.getInto({ url: file.url, headers: { range: 'bytes=5000-5999' } }, exact)
    assert.equal(got.status, 206)
    assert.equal(got.bytesWritten, 1000)
    assert.deepEqual(exact, file.data.subarray(5000, 6000))
    const larger = new Uint8Array(FILE_BYTES + 10)
    const whole = await client.getInto({ url: file.url }, larger)
    assert.equal(whole.status, 200)
    assert.equal(whole.bytesWritten, FILE_BYTES)
    assert.deepEqual(larger.subarray(0, FILE_BYTES), file.data)
    const small = new Uint8Array(999).fill(0xaa)
    await assert.rejects(client.getInto({ url: file.url, headers: { range: 'bytes=5000-5999' } }, small), (err: Error & { needed?: number, available?: number }) => err.name === 'BufferTooSmall' && err.needed === 1000 && err.available === 999)
    assert.ok(small.every(byte => byte === 0xaa))
    // A pinned hash: the blob's is taken, another one is refused by every seed.
    const pinned = await client.getInto({ url: file.url, hash: got.hash, headers: { range: 'bytes=0-9' } }, new Uint8Array(10))
    assert.equal(pinned.bytesWritten, 10)
    await assert.rejects(client.get({ url: file.url, hash: '00'.repeat(32) }), (err: Error & { tried?: Array<{ error: Error }> }) =>
      err.name === 'NoSeedAvailable' && err.tried?.every(t => (t.error.cause as Error).name === 'SeedAnswerInvalid') === true)
  })

  it('get aborted mid-body stops with Aborted; a Timeout is named; an origin 404 is an OriginError with its status', async () => {
    const file = files[1] as { url: string }
    const controller = new AbortController()
    const res = await client.get({ url: file.url, signal: controller.signal })
    let read = 0
    await assert.rejects((async () => {
      for await (const part of res.body) {
        read += part.length
        controller.abort()
      }
    })(), { name: 'Aborted' })
    assert.ok(read < FILE_BYTES, `read ${read}`)
    await assert.rejects(client.get({ url: server.url('/missing.bin') }), (err: Error & { status?: number }) => err instanceof OriginError && err.name === 'OriginNotFound' && err.status === 404)
    // A file the seed must still import, at 1 KiB/s: it cannot answer within the timeout (a
    // known file can: its headers may beat even a 1 ms timer).
    const slow = server.put(`/slow-${transport}.bin`, randomBytes(64 << 10, 9), { rate: 1024 })
    await assert.rejects(client.get({ url: slow, timeout: 200 }), { name: 'Timeout' })
  })

  it('no seed listening: NoSeedAvailable lists each seed tried and why', async () => {
    // Peer ids nobody has: the node's connections to the live seeds are not reused for them.
    const strangers = await Promise.all([1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    const dead = transport === 'http'
      ? createRequestClient({ seeds: ['127.0.0.1:1', '127.0.0.1:2'] })
      : createRequestClient({ seeds: strangers.map((id, i) => `/ip4/127.0.0.1/tcp/${i + 1}/p2p/${id}`), libp2p: (node as VerityNode).libp2p })
    const deadIds = transport === 'http' ? ['127.0.0.1:1', '127.0.0.1:2'] : strangers
    await assert.rejects(dead.get({ url: (files[0] as { url: string }).url }), (err: Error & { tried?: Array<{ seed: string, error: Error }> }) => {
      assert.equal(err.name, 'NoSeedAvailable')
      assert.deepEqual(err.tried?.map(t => t.seed).sort(), [...deadIds].sort())
      assert.ok(err.tried?.every(t => t.error.name === 'SeedUnavailable'))
      return true
    })
    await dead.close()
    await assert.rejects(dead.get({ url: (files[0] as { url: string }).url }), { name: 'ClientClosed' })
  })

  it('a seed SIGKILLed mid-run: bodies it was sending go on from the next seed on the ring, its files move there, every request succeeds, the other files stay put', async () => {
    // A 24 MiB file read slowly by each client: its seed is killed while the three bodies are halfway.
    const big = randomBytes(24 << 20, 77)
    const bigUrl = server.put(`/big-${transport}.bin`, big)
    const owner = (url: string): string => client.route({ url }).seeds[0] as string
    const victimId = owner(bigUrl)
    const victim = seeds[ids.indexOf(victimId)] as Awaited<ReturnType<typeof startVerity>>
    const before = files.map(file => ({ ...server.stats(file.path) }))
    const work = jobs(1).map(list => [...list, { url: bigUrl, start: 0, end: big.length - 1, file: -1, slowMs: 2 }])
    let started = 0
    let killed: Promise<number | null> | undefined
    const results = await Promise.all(work.map(async list => await clientProcess(addresses, list, job => {
      if (job === 10 && ++started === 3) killed = victim.signal('SIGKILL')
    })))
    assert.equal(await killed, null)
    const moved = new Set<number>()
    work.forEach((list, p) => list.forEach((job, j) => {
      const got = (results[p] as JobResult[])[j] as JobResult
      const route = client.route({ url: job.url }).seeds
      if (job.file === -1) {
        assert.equal(got.hash, sha256(big))
        assert.deepEqual(got.servedBy, [victimId, route[1]], 'the big body went on from the next seed')
        return
      }
      check(job, got)
      if (route[0] === victimId) {
        moved.add(job.file)
        // Asked before the kill and done: the victim; cut by it, or asked after: the next seed.
        assert.ok(got.servedBy.every((seed, k) => seed === [victimId, route[1]][k]) || (got.servedBy.length === 1 && got.servedBy[0] === route[1]), `file ${job.file}: ${got.servedBy.join('+')}`)
      } else {
        assert.deepEqual(got.servedBy, [route[0]], `file ${job.file} stays`)
      }
    }))
    files.forEach((file, i) => {
      const now = server.stats(file.path)
      const was = before[i] as { heads: number, bytes: number }
      if (moved.has(i)) assert.ok(now.heads <= was.heads + 1, `${file.path} fetched at most once by its new seed`)
      else assert.deepEqual({ heads: now.heads, bytes: now.bytes }, { heads: was.heads, bytes: was.bytes }, `${file.path} not fetched again`)
    })
    // This process's client had pooled connections to the killed seed: it fails over too.
    const file = files.find(f => owner(f.url) === victimId) ?? { url: bigUrl }
    const res = await client.getInto({ url: file.url, headers: { range: 'bytes=0-99' } }, new Uint8Array(100))
    assert.equal(res.seed, client.route({ url: file.url }).seeds[1])
  })
})
}
