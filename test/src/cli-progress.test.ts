import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { frame, ProgressTracker, RateWindow, RATE_WINDOW_MS } from '../../src/cli/progress.js'
import { randomBytes, repoRoot } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')
const MiB = 1024 * 1024

/** A clock the test moves by hand. */
function clock (): { now: () => number, advance: (ms: number) => void } {
  let at = 1000
  return { now: () => at, advance: ms => { at += ms } }
}

/** `script` (util-linux) gives a command a pseudo-terminal; absent, the terminal test skips. */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0

describe('verity progress and connecting: what people see while a fetch runs', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-progress-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('the rate is of bytes received over a sliding window: bytes already on disk at a resume are no speed, and old bytes leave the window', () => {
    const time = clock()
    const window = new RateWindow(5000, time.now)
    time.advance(1000)
    window.add(2 * MiB)
    assert.equal(window.rate(), 2 * MiB, 'over the time since the start while it is shorter than the window')
    time.advance(4000)
    window.add(3 * MiB)
    assert.equal(window.rate(), 5 * MiB / 5)
    time.advance(2000) // the first sample (at 2000 ms) is now older than the window
    assert.equal(window.rate(), 3 * MiB / 5)
    time.advance(10000)
    assert.equal(window.rate(), 0, 'nothing new for a whole window: no speed')

    const resumed = new ProgressTracker(100 * MiB, 200 * MiB, time.now)
    time.advance(1000)
    resumed.present(101 * MiB)
    resumed.arrived(MiB)
    const state = resumed.state()
    assert.deepEqual([state.bytes, state.total, state.percent, state.rate], [101 * MiB, 200 * MiB, 50, MiB], 'the 100 MiB here before are not speed')
    assert.equal(state.eta, 99, '99 MiB left at 1 MiB/s')
    resumed.present(100 * MiB)
    resumed.arrived(MiB / 2)
    assert.deepEqual([resumed.state().bytes, resumed.state().rate], [101 * MiB, MiB], 'never backwards')
  })

  it('a frame shows the name, bytes of total, percent, rate and ETA, and with -v what each provider has sent so far and at what rate', () => {
    const time = clock()
    const tracker = new ProgressTracker(0, 4 * MiB, time.now)
    tracker.named('movie.mkv')
    time.advance(2000)
    tracker.present(MiB)
    tracker.arrived(MiB)
    tracker.receivedFrom({ '12D3KooWAAAAAAabcdef': MiB, '12D3KooWBBBBBBuvwxyz': MiB / 2 })
    const state = tracker.state()
    assert.equal(frame(state), 'movie.mkv  1.0 MiB / 4.0 MiB  25%  512.0 KiB/s  ETA 6s')
    assert.equal(frame(state, true), 'movie.mkv  1.0 MiB / 4.0 MiB  25%  512.0 KiB/s  ETA 6s  [abcdef 1.0 MiB 512.0 KiB/s, uvwxyz 512.0 KiB 256.0 KiB/s]')
    assert.deepEqual(state.providers, { '12D3KooWAAAAAAabcdef': { bytes: MiB, rate: MiB / 2 }, '12D3KooWBBBBBBuvwxyz': { bytes: MiB / 2, rate: MiB / 4 } }, 'each provider counted over the time since the fetch began')
    time.advance(1000)
    tracker.receivedFrom({ '12D3KooWAAAAAAabcdef': 2 * MiB })
    assert.deepEqual(tracker.state().providers['12D3KooWAAAAAAabcdef'], { bytes: 2 * MiB, rate: Math.round(2 * MiB / 3) }, 'live: the bytes grow as they arrive')
    assert.equal(frame(new ProgressTracker(0, undefined, time.now).state()), '0 B  0 B/s', 'no total yet: no percent or ETA')
    assert.equal(RATE_WINDOW_MS, 5000)
  })

  it('on a terminal the first frame has the name, total and percent, and the line is drawn again at least 4 times a second', async function () {
    if (!hasScript) this.skip()
    const file = join(dir, 'twelve.bin')
    writeFileSync(file, randomBytes(12 * MiB, 7))
    // 4 MiB/s: three seconds of transfer to count frames in.
    const send = await startVerity(['send', file, '--ticket-only', '--limit-rate', '4M', ...LOCAL])
    try {
      const log = join(dir, 'tty.log')
      const command = [process.execPath, cli, 'get', send.line, '-o', join(dir, 'got.bin'), '--data-dir', join(dir, 'T')].join(' ')
      const ran = spawnSync('script', ['-qfec', command, log], { encoding: 'utf8' })
      assert.equal(ran.status, 0, readFileSync(log, 'utf8'))
      const tty = readFileSync(log, 'utf8')
      const frames = tty.split('\r').filter(text => text.endsWith('\x1b[K') && text.length > 3).map(text => text.slice(0, -3))
      assert.ok(frames.length > 0, 'frames drawn')
      assert.match(frames[0] as string, /^twelve\.bin {2}[\d.]+ (B|KiB|MiB) \/ 12\.0 MiB {2}\d+% {2}[\d.]+ (B|KiB|MiB)\/s/, `first frame: ${JSON.stringify(frames[0])}`)
      // The fetch's own time, as its last line says it (from connecting on: not the process's
      // start, which takes what a busy machine gives it).
      const seconds = Number(/fetched [\d.]+ MiB in ([\d.]+) s/.exec(tty)?.[1])
      assert.ok(seconds > 2, `the limit made it take ${seconds} s: ${tty.slice(-300)}`)
      // The first second or so is connecting and the index; from then on at least 4 a second.
      assert.ok(frames.length >= 4 * (seconds - 1.5), `${frames.length} frames in ${seconds.toFixed(1)} s`)
      assert.ok(readFileSync(join(dir, 'got.bin')).equals(Buffer.from(randomBytes(12 * MiB, 7))))
    } finally {
      await send.stop()
    }
  })

  it('--json progress events carry the same fields as the frame', async () => {
    const file = join(dir, 'json.bin')
    writeFileSync(file, randomBytes(6 * MiB, 8))
    const send = await startVerity(['send', file, '--ticket-only', '--limit-rate', '4M', ...LOCAL])
    try {
      const ran = await verity(['get', send.line, '--json', '-o', join(dir, 'json-got.bin'), '--data-dir', join(dir, 'J')])
      assert.equal(ran.status, 0, ran.stderr)
      const events = ran.stdout.toString('utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
      assert.equal(events[0]?.type, 'connecting')
      const progress = events.filter(event => event.type === 'progress' && event.total !== undefined)
      assert.ok(progress.length >= 2, JSON.stringify(events))
      const last = progress[progress.length - 1] as Record<string, unknown>
      assert.deepEqual(Object.keys(last).sort(), ['bytes', 'eta', 'name', 'percent', 'providers', 'rate', 'total', 'type'])
      // The collection's index and names come with the file: a few bytes over 6 MiB.
      assert.deepEqual([last.name, last.bytes, last.percent], ['json.bin', last.total, 100])
      assert.ok((last.total as number) > 6 * MiB && (last.total as number) < 6 * MiB + 200, String(last.total))
      assert.ok((last.rate as number) > 0 && (last.rate as number) < 20 * MiB, `rate ${String(last.rate)} under the sender's limit`)
    } finally {
      await send.stop()
    }
  })

  it('a resumed get: the bytes already on disk are no speed in its progress events', async () => {
    const file = join(dir, 'resume.bin')
    writeFileSync(file, randomBytes(16 * MiB, 9))
    // 2 MiB/s: the first get is stopped about half way.
    const send = await startVerity(['send', file, '--ticket-only', '--limit-rate', '2M', ...LOCAL])
    try {
      const args = ['get', send.line, '-o', join(dir, 'resumed.bin'), '--data-dir', join(dir, 'RS')]
      // Stopped once 6 MiB are here, as its progress events say (not after a fixed time, which
      // would count the process's start too).
      const first = spawn(process.execPath, [cli, ...args, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] })
      let stopped = false // one Ctrl-C: a second may end it otherwise
      createInterface({ input: first.stdout }).on('line', line => {
        const event = JSON.parse(line) as { type: string, bytes?: number }
        if (!stopped && event.type === 'progress' && (event.bytes ?? 0) >= 6 * MiB) {
          stopped = true
          first.kill('SIGINT')
        }
      })
      assert.equal(await new Promise(resolve => first.once('close', resolve)), 130, 'stopped by Ctrl-C half way')
      const again = await verity([...args, '--json'])
      assert.equal(again.status, 0, again.stderr)
      const events = again.stdout.toString('utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, number | string>)
      const fetched = events.find(event => event.type === 'fetched') as { localBytes: number }
      assert.ok(fetched.localBytes > 4 * MiB, `half was here: ${fetched.localBytes}`)
      const rates = events.filter(event => event.type === 'progress').map(event => event.rate as number)
      assert.ok(rates.length > 0)
      // Counted as speed, the bytes on disk would show several times the sender's limit at once.
      assert.ok(Math.max(...rates) < 6 * MiB, `rates ${rates.join(', ')} with ${fetched.localBytes} bytes here before`)
    } finally {
      await send.stop()
    }
  })

  it('an unreachable sender: "connecting to" names it and its addresses, and --timeout 2s fails within 4.5 s of that line, naming the addresses tried', async () => {
    // A TCP listener that never answers and a UDP socket that drops all: a host that is down.
    const held: Socket[] = []
    const tcp = createServer(socket => { held.push(socket) })
    await new Promise<void>(resolve => tcp.listen(0, '127.0.0.1', resolve))
    const udp = createSocket('udp4')
    await new Promise<void>(resolve => udp.bind(0, '127.0.0.1', resolve))
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const quicAddr = `/ip4/127.0.0.1/udp/${udp.address().port}/quic-v1`
    const tcpAddr = `/ip4/127.0.0.1/tcp/${(tcp.address() as AddressInfo).port}`
    try {
      // Timed from the first line (the fetch starting), not from the process's start: starting
      // a process (about 1 s of CPU for its modules) takes what a busy machine gives it.
      const ran = await verity(['get', 'ab'.repeat(32), '--provider', `${quicAddr}/p2p/${peer}`, '--provider', `${tcpAddr}/p2p/${peer}`, '--timeout', '2s', '--data-dir', join(dir, 'U')])
      const seconds = (performance.now() - (ran.stderrAt ?? NaN)) / 1000
      assert.equal(ran.status, 1, ran.stderr)
      assert.ok(seconds < 4.5, `failed ${seconds} s after its first line`)
      const lines = ran.stderr.trim().split('\n')
      assert.equal(lines[0], `verity: connecting to ${peer} (${quicAddr}, ${tcpAddr})...`)
      assert.equal(lines[lines.length - 1], `verity: FetchTimeout: did not finish within 2000 ms (--timeout): nothing fetched; tried ${peer} at ${quicAddr}, ${tcpAddr}; check that the sender is running and reachable from here, or give a longer --timeout`)
    } finally {
      held.forEach(socket => socket.destroy())
      tcp.close()
      udp.close()
    }
  })

  it('a provider that refuses: each retry is said on stderr, and the failure names the addresses tried', async () => {
    const closed = createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise(resolve => closed.close(resolve)) // nothing listens there now: refused at once
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const ran = await verity(['get', 'ab'.repeat(32), '--provider', `/ip4/127.0.0.1/tcp/${port}/p2p/${peer}`, '--data-dir', join(dir, 'R')])
    assert.equal(ran.status, 1, ran.stderr)
    const lines = ran.stderr.trim().split('\n')
    assert.equal(lines[0], `verity: connecting to ${peer} (/ip4/127.0.0.1/tcp/${port})...`)
    assert.ok(lines.filter(line => line.startsWith(`verity: ${peer}: `) && line.endsWith('; retrying')).length >= 1, ran.stderr)
    assert.equal(lines[lines.length - 1], `verity: DownloadFailed: no provider could deliver ${'ab'.repeat(32)}: ${peer}: the connection was refused (nothing listens at that address: is the sender still running there?); ` +
      `tried ${peer} at /ip4/127.0.0.1/tcp/${port}; check that the sender is running and reachable from here, then run the same command again (what verified is kept)`)
  })
})
