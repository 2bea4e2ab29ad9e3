import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VERITY_PROTOCOL } from '../../../protocol/constants.js'
import { decodeRequest } from '../../../protocol/request.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { byteStream } from '../../../src/net/stream.js'
import type { DownloadProgress } from '../../../src/downloader/interface.js'
import { collect, concat, randomBytes, rejection } from '../../helpers.js'
import { verity } from '../cli-process.js'

const SIZE = 2 << 20
/** Short windows, so the tests take seconds: the rule is the same as with the defaults. */
const RATE = { bytesPerSecond: 16 * 1024, windowMs: 1500 }

/**
 * A provider that answers each Get with the first half of the honest response at once, then
 * one byte every `dripMs`: each byte resets an idle timer, so only a minimum rate catches it.
 */
async function dripper (data: Uint8Array, dripMs = 300): Promise<{ node: VerityNode, hash: Uint8Array, addr: string }> {
  const node = await createNode()
  const { hash } = await node.blobs.addBytes(data)
  await node.libp2p.unhandle(VERITY_PROTOCOL)
  await node.libp2p.handle(VERITY_PROTOCOL, async stream => {
    const s = byteStream(stream)
    const { request } = decodeRequest(concat(await collect(s.source)))
    const ranges = request.type === 'get' ? request.request.ranges.at(0) : ChunkRanges.all()
    const response = concat(await collect(node.blobs.exportBao(hash, ranges)))
    const half = response.subarray(0, response.length >> 1)
    try {
      await s.write(frame(half))
      for (let at = half.length; at < response.length && !s.closed.aborted; at++) {
        await new Promise(resolve => setTimeout(resolve, dripMs))
        await s.write(frame(response.subarray(at, at + 1)))
      }
    } catch {
      // The requester gave up on us: that is the point.
    }
  })
  return { node, hash, addr: String(node.addrs().find(a => a.toString().includes('/quic-v1'))) }
}

/** One frame of verity's framed protocol: varint length, payload. */
function frame (payload: Uint8Array): Uint8Array {
  const header: number[] = []
  let n = payload.length
  do { header.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n = Math.floor(n / 128) } while (n > 0)
  return concat([Uint8Array.from(header), payload])
}

describe('slow and dripping providers', function () {
  this.timeout(60000)
  const data = randomBytes(SIZE, 77)
  let drip: Awaited<ReturnType<typeof dripper>>
  let honest: VerityNode
  let node: VerityNode

  before(async () => {
    drip = await dripper(data)
    honest = await createNode()
    await honest.blobs.addBytes(data)
  })
  after(async () => { await drip.node.stop(); await honest.stop() })
  beforeEach(async () => { node = await createNode({ downloader: { minRate: RATE } }) })
  afterEach(async () => { await node.stop() })

  it('the Downloader drops a provider below the minimum rate after one window, keeping what it verified', async () => {
    const items: DownloadProgress[] = []
    const started = performance.now()
    const error = await rejection(() => node.downloader.download({ request: drip.hash, providers: [drip.addr], onProgress: item => { items.push(item) } }))
    const seconds = (performance.now() - started) / 1000
    assert.equal(error.name, 'DownloadFailed')
    assert.match(error.message, /TooSlow/)
    // One request, or two when the second was asked for before the first fell below the rate
    // (a loaded machine): each fails TooSlow, and the provider is dropped at the first.
    const failed = items.flatMap(i => i.type === 'download:provider-failed' ? [i.detail] : [])
    assert.ok(failed.length === 1 || failed.length === 2, `${failed.length} failures`)
    for (const item of failed) assert.deepEqual({ reason: item.reason, dropped: item.dropped }, { reason: 'tooSlow', dropped: true })
    assert.ok(seconds < RATE.windowMs / 1000 + 3, `gave up after ${seconds.toFixed(1)} s`)
    const kept = (await node.blobs.bitfield(drip.hash)).ranges
    assert.ok(kept.containsRange(0, 16 * 16), `the verified first part is kept: ${kept.toString()}`)
  })

  it('with an honest provider beside it, the download completes and only the dripper is dropped', async () => {
    const items: DownloadProgress[] = []
    const honestAddr = String(honest.addrs().find(a => a.toString().includes('/quic-v1')))
    const result = await node.downloader.download({ request: drip.hash, providers: [drip.addr, honestAddr], onProgress: item => { items.push(item) } })
    assert.equal(result.bytes, SIZE)
    assert.ok(Buffer.from(await node.blobs.getBytes(drip.hash)).equals(data))
    for (const item of items) {
      if (item.type === 'download:provider-failed') assert.equal(item.detail.provider, drip.node.peerId, `${item.detail.error.name}: ${item.detail.error.message}`)
    }
  })

  it('with the default 20 s window, a waiting faster provider takes the dripper\'s ranges within seconds', async () => {
    const patient = await createNode() // DEFAULT_MIN_RATE
    try {
      const items: DownloadProgress[] = []
      const honestAddr = String(honest.addrs().find(a => a.toString().includes('/quic-v1')))
      const started = performance.now()
      const result = await patient.downloader.download({ request: drip.hash, providers: [drip.addr, honestAddr], onProgress: item => { items.push(item) } })
      const seconds = (performance.now() - started) / 1000
      assert.equal(result.bytes, SIZE)
      assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s: the dripper held its ranges`)
      const failed = items.flatMap(i => i.type === 'download:provider-failed' ? [i.detail] : [])
      assert.ok(failed.length >= 1 && failed.every(i => i.provider === drip.node.peerId))
      assert.match(failed[0]?.error.message ?? '', /B\/s over the last/)
    } finally {
      await patient.stop()
    }
  })

  it('Remote.fetch fails with TooSlow below the minimum rate, and with Timeout past its deadline', async () => {
    const slow = await rejection(() => node.remote.fetch(drip.addr, drip.hash, { minRate: RATE }))
    assert.equal(slow.name, 'TooSlow')
    const other = await createNode()
    try {
      const started = performance.now()
      const late = await rejection(() => other.remote.fetch(drip.addr, drip.hash, { minRate: false, timeoutMs: 1000 }))
      assert.equal(late.name, 'Timeout', late.message)
      assert.ok(performance.now() - started < 3000)
      assert.ok(!(await other.blobs.bitfield(drip.hash)).ranges.isEmpty(), 'what verified before the deadline is kept')
    } finally {
      await other.stop()
    }
  })

  it('a download with a deadline ends with Timeout, whatever the rate', async () => {
    const started = performance.now()
    const error = await rejection(() => node.downloader.download({ request: drip.hash, providers: [drip.addr], timeoutMs: 800 }))
    assert.equal(error.name, 'Timeout', error.message)
    assert.ok(performance.now() - started < 2500)
  })

  it('verity get --timeout exits 1 with Timeout in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-slow-'))
    try {
      const ticket = drip.node.ticket(drip.hash).toString()
      // Timed from its first line, the fetch starting (not the process's start: see cli-progress.test.ts).
      const ran = await verity(['get', ticket, '--data-dir', join(dir, 'data'), '-o', join(dir, 'out'), '--timeout', '2s'])
      assert.equal(ran.status, 1, ran.stderr)
      // The line saying whom it connects to, then the failure, in one line.
      const lines = ran.stderr.trim().split('\n')
      assert.match(lines[0] as string, /^verity: connecting to /, ran.stderr)
      assert.equal(lines.length, 2, ran.stderr)
      assert.match(lines[1] as string, /^verity: FetchTimeout: did not finish within 2000 ms/)
      assert.ok(performance.now() - (ran.stderrAt ?? NaN) < 6000, `${performance.now() - (ran.stderrAt ?? NaN)} ms after its first line`)
      const usage = await verity(['get', ticket, '--data-dir', join(dir, 'data'), '--timeout', 'soon'])
      assert.equal(usage.status, 2)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
