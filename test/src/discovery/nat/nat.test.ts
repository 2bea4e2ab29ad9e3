import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../../../helpers.js'
import { NatLab, type Proc } from './netns.js'

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')
const probe = join(repoRoot, 'dist', 'test', 'src', 'discovery', 'nat', 'punch-probe.js')
const BLOB = 64 << 20
const MiB = 1 << 20
/** The relay's STUN responder (serve --stun-server), in the "public" namespace. */
const STUN = '7.0.1.1:3478'

/**
 * docs/reachability.md: two nodes, each behind its own NAT, and a relay on a "public" network,
 * in network namespaces this test makes (root only; skipped with the reason elsewhere).
 *
 * DCUtR does not get through two NATs with these transports (the probe below: they dial from
 * other ports than they listen on); WebRTC does, its ICE agent punching from the socket it
 * learnt the public side of from the relay's STUN responder. So behind cone NATs the 64 MiB go
 * direct; behind symmetric NATs (a new port per destination) ICE fails and they go through the
 * relay, within its limits, or fail with RelayLimitReached past them.
 */
describe('reachability through NAT (network namespaces): relay, hole punching, limits', function () {
  this.timeout(240_000)
  let lab: NatLab
  let dir: string
  let file: string
  let digest: string
  const down = (): void => { lab?.down() }

  before(function () {
    const missing = NatLab.missing()
    if (missing !== undefined) {
      console.log(`      skipped: the NAT test ${missing}`)
      this.skip()
    }
    lab = new NatLab()
    process.once('exit', down)
    lab.up()
    dir = mkdtempSync(join(tmpdir(), 'verity-nat-'))
    file = join(dir, 'blob.bin')
    const bytes = randomBytes(BLOB)
    writeFileSync(file, bytes)
    digest = createHash('sha256').update(bytes).digest('hex')
  })

  afterEach(async () => { await lab?.stopAll() })

  after(() => {
    down()
    process.off('exit', down)
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  /** A relay in `pub` on 7.0.1.1:4001 (TCP); its /p2p/ address as the nodes behind NAT dial it. */
  async function relay (...limits: string[]): Promise<{ proc: Proc, addr: string }> {
    const proc = lab.start(lab.ns.pub, [cli, 'serve', '--relay', ...limits, '--stun-server', STUN, '--json', '--http', '127.0.0.1:0', '--listen', '/ip4/0.0.0.0/tcp/4001',
      '--data-dir', mkdtempSync(join(dir, 'relay-'))])
    const ready = JSON.parse(await proc.line(line => line.includes('"ready"'), 20_000)) as { peerId: string }
    return { proc, addr: `/ip4/${lab.relayIp}/tcp/4001/p2p/${ready.peerId}` }
  }

  /**
   * NAT_DEBUG=<libp2p DEBUG pattern> (libp2p:webrtc*,libp2p:webrtc*:trace): send's and get's
   * libp2p logs, kept in NAT_DEBUG_DIR (default: the temp directory) when they end.
   */
  function keepLog (proc: Proc, name: string): void {
    if (process.env.NAT_DEBUG === undefined) return
    const path = join(process.env.NAT_DEBUG_DIR ?? tmpdir(), `verity-nat-${name}-${Date.now()}.log`)
    void proc.exited.then(() => { writeFileSync(path, proc.stderr); console.log(`      ${name}'s log: ${path}`) })
  }

  /** `send` of the blob on host a, through the relay; its ticket. */
  async function sender (relayAddr: string, ...more: string[]): Promise<{ proc: Proc, ticket: string }> {
    const proc = lab.start(lab.ns.a, [cli, 'send', file, '--ticket-only', '--relay-via', relayAddr, '--stun', STUN, ...more], { ...process.env, DEBUG: process.env.NAT_DEBUG ?? '' })
    keepLog(proc, 'send')
    const ticket = await proc.line(line => line.startsWith('blob'), 60_000)
    return { proc, ticket }
  }

  /** `get` of the ticket on host b: exit code, stderr, and the relay's byte counter over the get. */
  async function get (ticket: string): Promise<{ status: number | null, stderr: string, relayed: number, sent: number, forwarded: number, seconds: number, out: string }> {
    const before = lab.counters()
    const out = join(mkdtempSync(join(dir, 'get-')), 'got.bin')
    const started = performance.now()
    const proc = lab.start(lab.ns.b, [cli, 'get', ticket, '-o', out, '--timeout', '150s', '--stun', STUN, '-v', '--data-dir', mkdtempSync(join(dir, 'b-'))], { ...process.env, DEBUG: process.env.NAT_DEBUG ?? '' })
    keepLog(proc, 'get')
    const status = await proc.exited
    const after = lab.counters()
    return { status, stderr: proc.stderr, relayed: after.relayBytes - before.relayBytes, sent: after.relaySentBytes - before.relaySentBytes, forwarded: after.forwardedBytes - before.forwardedBytes, seconds: (performance.now() - started) / 1000, out }
  }

  function sameBlob (path: string): boolean {
    return createHash('sha256').update(readFileSync(path)).digest('hex') === digest
  }

  it('probe: DCUtR between two cone NATs, both nodes announcing their public address, stays relayed (js-libp2p dials from other ports than it listens on)', async () => {
    lab.nat('cone')
    const relayProc = lab.start(lab.ns.pub, [probe, 'relay'])
    const relayId = (JSON.parse(await relayProc.line(l => l.includes('"ready"'), 20_000)) as { peerId: string }).peerId
    const relayAddr = `/ip4/${lab.relayIp}/tcp/4001/p2p/${relayId}`
    const listener = lab.start(lab.ns.a, [probe, 'listen', '7.0.1.2', '-', relayAddr])
    const listenerId = (JSON.parse(await listener.line(l => l.includes('"ready"'), 20_000)) as { peerId: string }).peerId
    const dialer = lab.start(lab.ns.b, [probe, 'dial', '7.0.2.2', `${relayAddr}/p2p-circuit/p2p/${listenerId}`], { ...process.env, DEBUG: 'libp2p:dcutr*' })
    const result = JSON.parse(await dialer.line(l => l.includes('"direct"'), 60_000)) as { direct: boolean, connections: string[] }
    const tried = (dialer.stderr.match(/A dialing/g) ?? []).length
    console.log(`      DCUtR attempts by the dialer: ${tried}; connections after 15 s: ${result.connections.join(', ')}`)
    assert.ok(tried > 0, `DCUtR ran its protocol (connect, sync, dial): ${dialer.stderr.slice(-1500)}`)
    // If this fails, hole punching works with these versions: say so in docs/reachability.md and assert < 5% relayed below.
    assert.equal(result.direct, false, 'DCUtR got a direct connection through two NATs')
  })

  it('cone NATs: get of a 64 MiB blob by ticket succeeds, the bytes going direct (WebRTC punched through both NATs; the relay carries < 5%)', async () => {
    lab.nat('cone')
    const { addr } = await relay('--relay-max-bytes', '256M')
    const { ticket } = await sender(addr)
    const got = await get(ticket)
    console.log(`      cone: ${got.seconds.toFixed(1)} s, the relay received ${(got.relayed / MiB).toFixed(2)} MiB (${(100 * got.relayed / BLOB).toFixed(1)}% of the blob) and sent ${(got.sent / MiB).toFixed(2)} MiB, ${(got.forwarded / MiB).toFixed(1)} MiB went between the NATs directly`)
    assert.equal(got.status, 0, got.stderr)
    assert.ok(sameBlob(got.out), 'the bytes fetched')
    assert.ok(got.relayed < 0.05 * BLOB, `the relay carried less than 5% (${got.relayed} bytes): ${got.stderr.slice(-1500)}`)
    assert.ok(got.forwarded >= BLOB, `the blob went between the NATs directly (${got.forwarded} bytes)`)
  })

  it('symmetric NATs: get of a 64 MiB blob by ticket goes through the relay, within its limits', async () => {
    lab.nat('symmetric')
    const { addr } = await relay('--relay-max-bytes', '256M', '--relay-max-duration', '2m')
    const { ticket } = await sender(addr)
    const got = await get(ticket)
    console.log(`      symmetric: ${got.seconds.toFixed(1)} s, the relay received ${(got.relayed / MiB).toFixed(1)} MiB and sent ${(got.sent / MiB).toFixed(1)} MiB, ${(got.forwarded / MiB).toFixed(2)} MiB went between the NATs directly`)
    assert.ok(got.forwarded < 0.05 * BLOB, `nothing went direct (${got.forwarded} bytes)`)
    assert.equal(got.status, 0, got.stderr)
    assert.ok(sameBlob(got.out), 'the bytes fetched')
    assert.ok(got.relayed >= BLOB, `the relay carried the blob (${got.relayed} bytes)`)
  })

  it('symmetric NATs, a relay allowing 16 MiB per relayed connection: get fails with RelayLimitReached, the relay carrying no more than its limit per connection', async () => {
    lab.nat('symmetric')
    const { addr } = await relay('--relay-max-bytes', '16M')
    const { ticket } = await sender(addr)
    const got = await get(ticket)
    console.log(`      limit 16 MiB: exit ${String(got.status)} after ${got.seconds.toFixed(1)} s, the relay received ${(got.relayed / MiB).toFixed(1)} MiB and sent ${(got.sent / MiB).toFixed(1)} MiB`)
    assert.equal(got.status, 1, got.stderr)
    assert.match(got.stderr, /RelayLimitReached/)
    // Each try is a new relayed connection with the limit afresh (what it verified is kept). A
    // try may also end otherwise than at the limit, and is a connection all the same (a CI run:
    // the relay sent 54.1 MiB in 27 s, more than three connections' worth, with three tries
    // counted by their RelayLimitReached alone): every try's end counts, each named in the message.
    const ends = got.stderr.split('\n').filter(line => /\((\w+)\); (retrying|no more requests to it)$/.test(line))
    const tries = ends.length
    assert.ok(ends.some(line => line.includes('(RelayLimitReached)')), got.stderr)
    const why = `over ${tries} tries, which ended: ${ends.map(line => /\((\w+)\); /.exec(line)?.[1] ?? '?').join(', ')}`
    // Each try is a fresh relayed connection with a fresh limit, so over all tries the relay may
    // carry the whole blob (a CI run: 64.7 MiB received over the tries, the get still failing);
    // per connection it receives at most the limit plus what the sender had in flight at the cut.
    assert.ok(got.relayed <= tries * 24 * MiB, `at most 16 MiB and 8 MiB in flight per relayed connection received: ${got.relayed} bytes ${why}`)
    // What it sent on (to b): the limit per connection, plus TCP/IP headers (3.6% at MTU 1500) and
    // the tries' handshakes. What it received may be more: a's bytes in flight when it cut.
    assert.ok(got.sent <= tries * 16 * MiB * 1.08 + MiB, `at most 16 MiB (and overhead) per relayed connection: ${got.sent} bytes sent ${why}`)
  })

  it('a ticket stays the same across a restart of the sender that keeps its key (data directory), ports and relay', async () => {
    lab.nat('cone')
    const { addr } = await relay()
    const data = mkdtempSync(join(dir, 'a-'))
    const fixed = ['--data-dir', data, '--listen', '/ip4/0.0.0.0/tcp/4101', '--listen', '/ip4/0.0.0.0/udp/4101/quic-v1']
    const first = await sender(addr, ...fixed)
    await lab.stopAll()
    const { addr: again } = await relay()
    assert.notEqual(again, addr, 'a relay restarted without its data directory has another key')
    const relayData = mkdtempSync(join(dir, 'relay-kept-'))
    await lab.stopAll()
    // The relay keeps its key too (its data directory): the same relayed address.
    const keep = async (): Promise<string> => {
      const proc = lab.start(lab.ns.pub, [cli, 'serve', '--relay', '--json', '--http', '127.0.0.1:0', '--listen', '/ip4/0.0.0.0/tcp/4001', '--data-dir', relayData])
      return `/ip4/${lab.relayIp}/tcp/4001/p2p/${(JSON.parse(await proc.line(l => l.includes('"ready"'), 20_000)) as { peerId: string }).peerId}`
    }
    const kept = await keep()
    const second = await sender(kept, ...fixed)
    await lab.stopAll()
    const keptAgain = await keep()
    assert.equal(keptAgain, kept)
    const third = await sender(keptAgain, ...fixed)
    assert.equal(third.ticket, second.ticket, 'same key, ports and relay: the same ticket')
    assert.notEqual(first.ticket, second.ticket, 'another relay (another key): another ticket')
    const got = await get(third.ticket)
    assert.equal(got.status, 0, got.stderr)
  })
})
