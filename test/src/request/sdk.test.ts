import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { OriginError } from '../../../src/origin/errors.js'
import { createRequestClient, type RequestClient } from '../../../src/request/index.js'
import { randomBytes } from '../../helpers.js'
import { LOCAL, startVerity } from '../cli-process.js'
import { OriginServer } from '../origin/origin-server.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'client-child.js')
const FILE_BYTES = 3 << 20
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** Runs a client process over `jobs`: per job, the seed that answered, the status and the body's hash. */
async function clientProcess (seeds: string[], jobs: Array<{ url: string, start: number, end: number }>): Promise<Array<{ seed: string, status: number, hash: string }>> {
  const proc = spawn(process.execPath, [child, seeds.join(','), JSON.stringify(jobs)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text })
  proc.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text })
  const code = await new Promise<number | null>(resolve => proc.once('close', resolve))
  assert.equal(code, 0, stderr)
  return stdout.trim().split('\n').map(line => {
    const [, seed, status, hash] = line.split(' ') as [string, string, string, string]
    return { seed, status: Number(status), hash }
  })
}

describe('request SDK: three verity serve --seed processes behind the ring', function () {
  this.timeout(300000)
  let dir: string
  let server: OriginServer
  let seeds: Array<Awaited<ReturnType<typeof startVerity>>>
  let hosts: string[]
  let client: RequestClient
  const files: Array<{ path: string, url: string, data: Uint8Array }> = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-request-'))
    server = await OriginServer.start()
    // The origin is on 127.0.0.1: a seed reaches it for others only under --origin-allow.
    seeds = await Promise.all([0, 1, 2].map(async i => await startVerity(['serve', '--seed', '--origin-allow', server.url('/'), '--http', '127.0.0.1:0', '--json', '--data-dir', join(dir, `seed-${i}`), ...LOCAL])))
    hosts = seeds.map(seed => new URL((JSON.parse(seed.line) as { url: string }).url).host)
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(FILE_BYTES, 100 + i)
      files.push({ path: `/layer-${i}.bin`, url: server.put(`/layer-${i}.bin`, data), data })
    }
    client = createRequestClient({ seeds: hosts, backoffMs: 60000 })
  })
  after(async () => {
    await client.close()
    await Promise.all(seeds.map(async seed => await seed.signal('SIGKILL')))
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** 10 ranged jobs for each of 3 processes: chunks spread over the 5 files. */
  function jobs (round: number): Array<Array<{ url: string, start: number, end: number, file: number }>> {
    return [0, 1, 2].map(p => Array.from({ length: 10 }, (_, j) => {
      const file = (p + j + round) % 5
      const start = ((p * 10 + j) * 262144 + round * 4096) % (FILE_BYTES - 300000)
      return { url: (files[file] as { url: string }).url, start, end: start + 262143 - j, file }
    }))
  }

  function check (job: { start: number, end: number, file: number }, got: { status: number, hash: string }): void {
    assert.equal(got.status, 206)
    assert.equal(got.hash, sha256((files[job.file] as { data: Uint8Array }).data.subarray(job.start, job.end + 1)))
  }

  it('30 ranged gets from 3 client processes for 5 files: each file from the origin once, every request for one file answered by one seed, the ring\'s', async () => {
    const work = jobs(0)
    const results = await Promise.all(work.map(async list => await clientProcess(hosts, list)))
    const seedOf = new Map<number, Set<string>>()
    work.forEach((list, p) => list.forEach((job, j) => {
      const got = (results[p] as Array<{ seed: string, status: number, hash: string }>)[j] as { seed: string, status: number, hash: string }
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
    const slow = server.put('/slow.bin', randomBytes(64 << 10, 9), { rate: 1024 })
    await assert.rejects(client.get({ url: slow, timeout: 200 }), { name: 'Timeout' })
  })

  it('no seed listening: NoSeedAvailable lists each seed tried and why', async () => {
    const dead = createRequestClient({ seeds: ['127.0.0.1:1', '127.0.0.1:2'] })
    await assert.rejects(dead.get({ url: (files[0] as { url: string }).url }), (err: Error & { tried?: Array<{ seed: string, error: Error }> }) => {
      assert.equal(err.name, 'NoSeedAvailable')
      assert.deepEqual(err.tried?.map(t => t.seed).sort(), ['127.0.0.1:1', '127.0.0.1:2'])
      assert.ok(err.tried?.every(t => t.error.name === 'SeedUnavailable'))
      return true
    })
    await dead.close()
    await assert.rejects(dead.get({ url: (files[0] as { url: string }).url }), { name: 'ClientClosed' })
  })

  it('a seed SIGKILLed: its files move to their next seed on the ring and still succeed; the other files stay put, not fetched again', async () => {
    const owner = (file: number): string => client.route({ url: (files[file] as { url: string }).url }).seeds[0] as string
    const victimHost = owner(0)
    const victim = seeds[hosts.indexOf(victimHost)] as Awaited<ReturnType<typeof startVerity>>
    const before = files.map(file => ({ ...server.stats(file.path) }))
    assert.equal(await victim.signal('SIGKILL'), null)
    const work = jobs(1)
    const results = await Promise.all(work.map(async list => await clientProcess(hosts, list)))
    const moved = new Set<number>()
    work.forEach((list, p) => list.forEach((job, j) => {
      const got = (results[p] as Array<{ seed: string, status: number, hash: string }>)[j] as { seed: string, status: number, hash: string }
      check(job, got)
      const route = client.route({ url: job.url }).seeds
      if (route[0] === victimHost) {
        moved.add(job.file)
        assert.equal(got.seed, route[1], `file ${job.file} goes to its next seed`)
      } else {
        assert.equal(got.seed, route[0], `file ${job.file} stays`)
      }
    }))
    assert.ok(moved.has(0))
    files.forEach((file, i) => {
      const now = server.stats(file.path)
      if (moved.has(i)) assert.equal(now.heads, (before[i] as { heads: number }).heads + 1, `${file.path} fetched once by its new seed`)
      else assert.deepEqual({ heads: now.heads, bytes: now.bytes }, { heads: (before[i] as { heads: number }).heads, bytes: (before[i] as { bytes: number }).bytes }, `${file.path} not fetched again`)
    })
    // This process's client had pooled connections to the killed seed: it fails over too.
    const res = await client.getInto({ url: (files[0] as { url: string }).url, headers: { range: 'bytes=0-99' } }, new Uint8Array(100))
    assert.equal(res.seed, client.route({ url: (files[0] as { url: string }).url }).seeds[1])
  })
})
