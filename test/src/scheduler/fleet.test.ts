import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { randomBytes, repoRoot } from '../../helpers.js'
import { LOCAL, startVerity, verity } from '../cli-process.js'
import { OriginServer } from '../origin/origin-server.js'
import { call } from './harness.js'

const MIB = 1 << 20

const pairs = (events: Array<{ range?: string }>): string[] => events.map(event => event.range as string)

/** A counter's value in Prometheus text (summed over its label sets matching `labels`). */
function counter (text: string, name: string, labels = ''): number {
  return text.split('\n').filter(line => line.startsWith(`${name}${labels}`) || (labels === '' && line.startsWith(`${name}{`)))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0)
}

describe('verity get <url> --scheduler: clients fetch from one another', function () {
  this.timeout(240000)
  let dir: string
  let server: OriginServer
  let seed: Awaited<ReturnType<typeof startVerity>>
  let seedHttp: string
  let scheduler: Awaited<ReturnType<typeof startVerity>>
  let url: string

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-fleet-'))
    server = await OriginServer.start()
    seed = await startVerity(['serve', '--seed', '--origin-allow', server.url('/'), '--http', '127.0.0.1:0', '--json', '--data-dir', join(dir, 'seed'), ...LOCAL])
    const ready = JSON.parse(seed.line) as { url: string, addrs: string[] }
    seedHttp = ready.url
    const seedAddr = ready.addrs.find(addr => addr.includes('/tcp/')) as string
    scheduler = await startVerity(['scheduler', '--seed', seedAddr, '--http', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler'), '-q', ...LOCAL])
    url = scheduler.line
  })
  afterEach(async () => {
    await scheduler.stop()
    await seed.stop()
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const get = async (fileUrl: string, i: number): Promise<ReturnType<typeof verity>> =>
    await verity(['get', fileUrl, '--scheduler', url, '-o', join(dir, `out-${i}.bin`), '--linger', '4s', '--json', '--data-dir', join(dir, `client-${i}`), ...LOCAL])

  it('6 clients of one 64 MiB URL at once: every output is the file, the origin serves it once, the seed under half the bytes', async () => {
    const data = randomBytes(64 * MIB, 21)
    const fileUrl = server.put('/big.bin', data)
    const runs = await Promise.all(Array.from({ length: 6 }, async (_, i) => await get(fileUrl, i)))
    for (const [i, run] of runs.entries()) {
      assert.equal(run.status, 0, run.stderr)
      assert.ok(readFileSync(join(dir, `out-${i}.bin`)).equals(data), `client ${i} wrote the file`)
    }
    const served = server.stats('/big.bin').bytes
    assert.ok(served <= 1.05 * data.length, `the origin served ${served} bytes`)
    const seedSent = counter((await call(seedHttp, 'GET', '/metrics')).text, 'verity_peer_bytes_sent_total')
    const received = 6 * data.length
    const pieces = (await call(url, 'GET', '/metrics')).text
    const fromSeed = counter(pieces, 'verity_scheduler_pieces_served_total', '{source="seed"}')
    const fromPeers = counter(pieces, 'verity_scheduler_pieces_served_total', '{source="peer"}')
    console.log(`      seed sent ${(seedSent / MIB).toFixed(1)} MiB of ${received / MIB} MiB received (${(100 * seedSent / received).toFixed(1)}%); pieces from the seed ${fromSeed}, from peers ${fromPeers}`)
    assert.ok(seedSent < 0.5 * received, `the seed sent ${seedSent} of ${received} bytes`)
    assert.equal(fromSeed + fromPeers, 6 * 16, 'every piece of every client reported')
    assert.ok(fromPeers > fromSeed)
  })

  it('a URL the origin does not have fails the get with exit 1, naming the origin\'s error', async () => {
    const run = await get(server.url('/not-there'), 9)
    assert.equal(run.status, 1)
    assert.match(run.stderr, /SchedulerTaskFailed: task [0-9a-f]{64} failed at the seed: OriginNotFound: /)
  })

  it('a client serving corrupt data is caught by verification, reported, not handed out again; the others finish correctly', async () => {
    const data = randomBytes(32 * MIB, 22)
    const fileUrl = server.put('/liar.bin', data)
    const child = spawn(process.execPath, [join(repoRoot, 'dist', 'test', 'src', 'scheduler', 'corrupt-client.js'), JSON.stringify({ scheduler: url, url: fileUrl, lingerMs: 120000 })], { stdio: ['ignore', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    assert.equal(JSON.parse((await lines.next()).value as string).type, 'first-piece')
    const exited = new Promise(resolve => child.once('close', resolve))
    const runs = await Promise.all(Array.from({ length: 4 }, async (_, i) => await get(fileUrl, i)))
    for (const [i, run] of runs.entries()) {
      assert.equal(run.status, 0, run.stderr)
      assert.ok(readFileSync(join(dir, `out-${i}.bin`)).equals(data), `client ${i} wrote the file`)
    }
    const events = runs.flatMap(run => run.stdout.toString().trim().split('\n').map(line => JSON.parse(line) as { type: string, range?: string, source?: string, ok?: boolean }))
    const bad = events.filter(event => event.type === 'piece' && event.ok === false)
    assert.ok(bad.length > 0, 'some client was sent a piece by the liar')
    const liar = bad[0]?.source as string
    assert.ok(bad.every(event => event.source === liar), 'only the liar sent bad pieces')
    // A client never got the same piece from the liar twice: its report banned the liar for that piece.
    for (const run of runs) {
      const ranges = run.stdout.toString().trim().split('\n').map(line => JSON.parse(line) as { type: string, range?: string, ok?: boolean })
        .filter(event => event.type === 'piece' && event.ok === false).map(event => event.range)
      assert.equal(new Set(ranges).size, ranges.length, `one client failed a piece from the liar twice: ${ranges.join(' ')}`)
    }
    const metrics = (await call(url, 'GET', '/metrics')).text
    assert.equal(counter(metrics, 'verity_scheduler_piece_errors_total', '{kind="corrupt"}'), bad.length)
    // The honest clients are gone; the liar (still serving) holds every piece and is the only peer
    // that does, so a newcomer is sent to it for every piece it is not banned for, and to the seed
    // for those it is.
    const liarId = liar
    assert.equal((await call(url, 'GET', `/api/v1/peers/${encodeURIComponent(liarId)}`)).status, 200, 'the liar still serves')
    const task = (await call(url, 'POST', '/peer/registry', { IP: '10.9.9.9', hostName: 'newcomer', cID: 'newcomer', rawURL: fileUrl })).json.data.taskId
    const handed = (await call(url, 'GET', `/api/v1/tasks/${task}/pieces?clientID=newcomer&num=64`)).json as Array<{ pID: string, pieceRange: string }>
    assert.equal(handed.length, 8)
    const banned = new Set(pairs(bad))
    for (const piece of handed) assert.equal(piece.pID === liarId, !banned.has(piece.pieceRange), `${piece.pieceRange} from ${piece.pID}`)
    child.kill('SIGINT')
    await exited
  })
})
