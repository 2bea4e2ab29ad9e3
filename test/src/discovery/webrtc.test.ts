import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { GatewayMetrics } from '../../../src/http/metrics.js'
import { randomBytes, repoRoot } from '../../helpers.js'
import { fetchOverWebrtc, webrtcTrio, type Trio } from './webrtc-trio.js'

describe('hole punching with WebRTC on 127.0.0.1: signalled through the relay, the bytes direct (docs/reachability.md)', function () {
  this.timeout(120_000)
  let trio: Trio | undefined
  afterEach(async () => { await trio?.stop(); trio = undefined })

  it('a getter fetches 8 MiB by the WebRTC address alone: over a direct, unlimited connection, verified', async () => {
    trio = await webrtcTrio()
    const { behind, getter } = trio
    const data = randomBytes(8 << 20, 7)
    const { hash } = await behind.blobs.addBytes(data)
    const result = await fetchOverWebrtc(trio, hash)
    assert.equal(result.complete, true)
    assert.deepEqual(await getter.blobs.getBytes(hash), data)
    const connections = getter.libp2p.getConnections(behind.libp2p.peerId)
    const direct = connections.filter(c => c.remoteAddr.toString().includes('/webrtc'))
    assert.equal(direct.length, 1, connections.map(c => c.remoteAddr.toString()).join(' '))
    assert.equal(direct[0]?.limits, undefined, 'not limited as a relayed connection is')
    const metrics = new GatewayMetrics()
    metrics.watch(getter)
    assert.match(await metrics.text(), /^verity_webrtc_connections 1$/m)
  })

  it('a process whose nodes made WebRTC connections ends by itself once they stop (libdatachannel\'s threads let go)', async () => {
    const script = join(repoRoot, 'dist', 'test', 'src', 'discovery', 'webrtc-trio.js')
    const child = spawn(process.execPath, [script, String(1 << 20)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 90_000)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.once('close', (c, s) => { resolve([c, s]) }))
    clearTimeout(timer)
    assert.equal(signal, null, `still running 90 s after it started (killed); stdout: ${out} stderr: ${err.slice(-1000)}`)
    assert.equal(code, 0, err.slice(-1000))
    const line = JSON.parse(out.trim()) as { complete: boolean, over: string[], cut: number, leaked: number }
    if (line.leaked > 0) console.log(`      ${line.leaked} aborted WebRTC dial(s) left their TimeoutError uncaught inside @libp2p/webrtc`)
    assert.equal(line.complete, true)
    assert.ok(line.cut > 0, 'some WebRTC dial was cut short mid-setup (the case that holds the process)')
    assert.ok(line.over.some(addr => addr.includes('/webrtc')), line.over.join(' '))
  })
})
