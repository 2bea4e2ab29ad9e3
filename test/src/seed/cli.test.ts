import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { blake3 } from '../../../store/bao/hash.js'
import { toHex } from '../../../store/hash-text.js'
import { randomBytes } from '../../helpers.js'
import { LOCAL, startVerity, verity } from '../cli-process.js'
import { OriginServer } from '../origin/origin-server.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'requester-child.js')

/** Runs the requester child to its end: its stdout lines and exit code. */
async function requester (args: string[]): Promise<{ lines: string[], code: number | null, stderr: string }> {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text })
  proc.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text })
  const code = await new Promise<number | null>(resolve => proc.once('close', resolve))
  return { lines: stdout.trim().split('\n').filter(line => line !== ''), code, stderr }
}

describe('seed peers: verity serve --seed with requesters in other processes', function () {
  this.timeout(300000)
  let dir: string
  let server: OriginServer
  let seed: Awaited<ReturnType<typeof startVerity>>
  let seedAddr: string
  let http: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-seed-cli-'))
    server = await OriginServer.start()
    // The origin is on 127.0.0.1: the seed reaches it only under --origin-allow.
    seed = await startVerity(['serve', '--seed', '--origin-allow', server.url('/'), '--http', '127.0.0.1:0', '--json', '--data-dir', join(dir, 'seed'), ...LOCAL])
    const ready = JSON.parse(seed.line) as { url: string, addrs: string[] }
    http = ready.url
    seedAddr = ready.addrs.find(addr => addr.includes('/tcp/')) as string
  })
  after(async () => {
    await seed.stop()
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('20 gets of one URL from 4 processes: one origin download; a filtered parameter is the same task, another tag a new one', async () => {
    const data = randomBytes(16 << 20, 11)
    const url = server.put('/popular.bin', data)
    const runs = await Promise.all([0, 1, 2, 3].map(async p => {
      const out = join(dir, `out-${p}`)
      mkdirSync(out)
      return { out, ...await requester([seedAddr, url, '5', out]) }
    }))
    const tasks = new Set<string>()
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr)
      assert.equal(run.lines.length, 5)
      for (const line of run.lines) {
        const [, i, task, hash] = line.split(' ') as [string, string, string, string]
        tasks.add(task)
        assert.equal(hash, toHex(blake3(data)))
        assert.ok(Buffer.from(data).equals(readFileSync(join(run.out, i))), `output ${run.out}/${i}`)
      }
    }
    assert.equal(tasks.size, 1)
    const served = { ...server.stats('/popular.bin') }
    assert.ok(served.bytes <= data.length * 1.05, `the origin served ${served.bytes} bytes for ${data.length}`)
    assert.equal(served.heads, 1)

    // Another value of the filtered parameter, through the CLI: the same task, nothing from the origin.
    const again = await verity(['get', `${url}?caller=cli`, '--filter', 'caller', '--seed', seedAddr, '-o', join(dir, 'again.bin'), '--data-dir', join(dir, 'cli-1')])
    assert.equal(again.status, 0, again.stderr)
    assert.ok(Buffer.from(data).equals(readFileSync(join(dir, 'again.bin'))))
    assert.equal(server.stats('/popular.bin').bytes, served.bytes)
    assert.equal(server.stats('/popular.bin').heads, 1)

    // Another tag: another task, fetched from the origin again.
    const tagged = await verity(['get', url, '--task-tag', 'v2', '--seed', seedAddr, '-o', join(dir, 'tagged.bin'), '--json', '--data-dir', join(dir, 'cli-2')])
    assert.equal(tagged.status, 0, tagged.stderr)
    const task = tagged.stdout.toString().split('\n').filter(line => line !== '').map(line => JSON.parse(line) as { type: string, task?: string }).find(e => e.type === 'task')
    assert.notEqual(task?.task, [...tasks][0])
    assert.equal(server.stats('/popular.bin').heads, 2)
    assert.ok(server.stats('/popular.bin').bytes >= served.bytes + data.length, JSON.stringify({ now: server.stats('/popular.bin'), served }))
  })

  it('an origin error exits 1 naming it; the seed serves the next get', async () => {
    const failed = await verity(['get', server.url('/missing.bin'), '--seed', seedAddr, '-o', join(dir, 'missing.bin'), '--data-dir', join(dir, 'cli-3')])
    assert.equal(failed.status, 1)
    assert.match(failed.stderr, /verity: OriginNotFound: the origin answered 404 Not Found: http:\/\/127\.0\.0\.1:\d+\/missing\.bin/)
    const broken = server.put('/broken.bin', new Uint8Array(100), { status: 500 })
    const unavailable = await verity(['get', broken, '--seed', seedAddr, '--data-dir', join(dir, 'cli-3')])
    assert.equal(unavailable.status, 1)
    assert.match(unavailable.stderr, /verity: OriginUnavailable: /)
    const data = randomBytes(100000, 12)
    const ok = await verity(['get', server.put('/next.bin', data), '--seed', seedAddr, '-o', join(dir, 'next.bin'), '--data-dir', join(dir, 'cli-3')])
    assert.equal(ok.status, 0, ok.stderr)
    assert.ok(Buffer.from(data).equals(readFileSync(join(dir, 'next.bin'))))
  })

  it('preheat of 64 MiB reaches SUCCESS; a get through the seed then asks nothing of the origin', async () => {
    const data = randomBytes(64 << 20, 13)
    const url = server.put('/big.bin', data)
    const pre = await verity(['preheat', url, '--seed', seedAddr, '--json', '--data-dir', join(dir, 'cli-4')])
    assert.equal(pre.status, 0, pre.stderr)
    const states = pre.stdout.toString().trim().split('\n').map(line => (JSON.parse(line) as { state: string }).state)
    assert.equal(states.at(-1), 'SUCCESS')
    const id = (JSON.parse(pre.stdout.toString().split('\n')[0] as string) as { id: string }).id
    const status = await verity(['preheat', '--status', id, '--seed', seedAddr, '--data-dir', join(dir, 'cli-4')])
    assert.equal(status.stdout.toString().trim(), 'SUCCESS')
    const before = { ...server.stats('/big.bin') }
    const got = await verity(['get', url, '--seed', seedAddr, '-o', join(dir, 'big.bin'), '--data-dir', join(dir, 'cli-4')])
    assert.equal(got.status, 0, got.stderr)
    assert.ok(Buffer.from(data).equals(readFileSync(join(dir, 'big.bin'))))
    const after = server.stats('/big.bin')
    assert.equal(after.heads, before.heads)
    assert.equal(after.gets, before.gets)
  })

  it('GET /tasks?url= is the file, whole or a range; an origin 404 is HTTP 404', async () => {
    const data = randomBytes(3 << 20, 14)
    const url = server.put('/web.bin', data)
    const whole = await fetch(`${http}/tasks?url=${encodeURIComponent(url + '?sig=abc')}&filter=sig`)
    assert.equal(whole.status, 200)
    assert.equal(whole.headers.get('x-verity-hash'), toHex(blake3(data)))
    assert.ok(Buffer.from(data).equals(Buffer.from(await whole.arrayBuffer())))
    const part = await fetch(`${http}/tasks?url=${encodeURIComponent(url)}`, { headers: { range: 'bytes=1000000-1999999' } })
    assert.equal(part.status, 206)
    assert.equal(part.headers.get('content-range'), `bytes 1000000-1999999/${data.length}`)
    assert.ok(Buffer.from(data.subarray(1000000, 2000000)).equals(Buffer.from(await part.arrayBuffer())))
    assert.equal(server.stats('/web.bin').heads, 1, 'the second request found the task known')
    const missing = await fetch(`${http}/tasks?url=${encodeURIComponent(server.url('/nope'))}`)
    assert.equal(missing.status, 404)
    assert.equal(((await missing.json()) as { error: string }).error, 'OriginNotFound')
    const file = await fetch(`${http}/tasks?url=${encodeURIComponent('file:///etc/hostname')}`)
    assert.equal(file.status, 403)
  })
})
