import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3 } from '../../store/bao/hash.js'
import { toHex } from '../../store/hash-text.js'
import { parseRange } from '../../src/http/range.js'
import { randomBytes } from '../helpers.js'
import { LOCAL, startVerity } from './cli-process.js'

async function body (res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer())
}

describe('verity serve: the HTTP gateway (processes on 127.0.0.1)', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-serve-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('reads one byte range from a Range header', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 10 })
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 100 })
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 100 })
    assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 100 })
    assert.deepEqual(parseRange('bytes=50-5000', 100), { start: 50, end: 100 })
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable')
    assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable')
    assert.equal(parseRange('bytes=0-1,5-6', 100), undefined, 'several ranges: the whole blob')
    assert.equal(parseRange(undefined, 100), undefined)
  })

  it('fetches on demand from a provider (a range: just its chunks) and serves full and ranged GETs, ETags and HEAD; /metrics is Prometheus text', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 77, 8)
    const hex = toHex(blake3(data))
    writeFileSync(join(dir, 'blob.bin'), data)
    const sender = await startVerity(['send', join(dir, 'blob.bin'), '--ticket-only', '--data-dir', join(dir, 'send'), ...LOCAL])
    const gateway = await startVerity(['serve', '--http', '127.0.0.1:0', '--provider', sender.line, '--data-dir', join(dir, 'serve'), ...LOCAL])
    try {
      const url = gateway.line
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const health = await fetch(`${url}/health`)
      assert.equal(health.status, 200)
      // A fresh gateway: HEAD fetches the size proof only, a range only the chunks under it.
      const fetched = async (): Promise<number> => Number(/^verity_fetched_bytes_total (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1])
      const sized = await fetch(`${url}/blob/${hex}`, { method: 'HEAD' })
      assert.deepEqual([sized.status, sized.headers.get('content-length')], [200, String(data.length)])
      assert.ok(await fetched() < 64 * 1024, `HEAD fetched ${await fetched()} bytes`)
      const early = await fetch(`${url}/blob/${hex}`, { headers: { range: 'bytes=3000000-3099999' } })
      assert.equal(early.status, 206)
      assert.ok((await body(early)).equals(Buffer.from(data.subarray(3000000, 3100000))))
      assert.ok(await fetched() < 256 * 1024, `a 100 kB range fetched ${await fetched()} bytes`)
      let served = 100000
      const full = await fetch(`${url}/blob/${hex}`)
      assert.equal(full.status, 200)
      assert.equal(full.headers.get('content-length'), String(data.length))
      assert.equal(full.headers.get('etag'), `"${hex}"`)
      assert.ok((await body(full)).equals(Buffer.from(data)), 'the whole blob')
      served += data.length
      for (const [range, start, end] of [['bytes=1000-1999', 1000, 2000], ['bytes=-4096', data.length - 4096, data.length], ['bytes=5000000-', 5000000, data.length]] as const) {
        const part = await fetch(`${url}/blob/${hex}`, { headers: { range } })
        assert.equal(part.status, 206, range)
        assert.equal(part.headers.get('content-range'), `bytes ${start}-${end - 1}/${data.length}`)
        assert.equal(part.headers.get('content-length'), String(end - start))
        assert.ok((await body(part)).equals(Buffer.from(data.subarray(start, end))), range)
        served += end - start
      }
      const beyond = await fetch(`${url}/blob/${hex}`, { headers: { range: `bytes=${data.length}-` } })
      assert.equal(beyond.status, 416)
      assert.equal(beyond.headers.get('content-range'), `bytes */${data.length}`)
      await beyond.arrayBuffer()
      const cached = await fetch(`${url}/blob/${hex}`, { headers: { 'if-none-match': `"${hex}"` } })
      assert.equal(cached.status, 304)
      const head = await fetch(`${url}/blob/${hex}`, { method: 'HEAD' })
      assert.equal(head.status, 200)
      assert.equal(head.headers.get('content-length'), String(data.length))
      const named = await fetch(`${url}/blob/${hex}?filename=${encodeURIComponent('../a "b" é.bin')}`, { method: 'HEAD' })
      // jshttp's content-disposition: quotes escaped in the ASCII fallback, the exact name after filename*.
      assert.equal(named.headers.get('content-disposition'), `attachment; filename="a \\"b\\" ?.bin"; filename*=UTF-8''a%20%22b%22%20%C3%A9.bin`)
      assert.equal((await fetch(`${url}/blob/not-a-hash`)).status, 400)
      const nobody = await fetch(`${url}/blob/${'0'.repeat(64)}`)
      assert.equal(nobody.status, 404, 'a hash nobody has')
      assert.match(await nobody.text(), /no provider delivered it: DownloadFailed: .*NotFound/)

      // The store's totals are counted in the background, again a second or more after the last count.
      let text = ''
      for (let tries = 0; tries < 40; tries++) {
        text = await (await fetch(`${url}/metrics`)).text()
        if (/^verity_store_bytes (\d+)$/m.exec(text)?.[1] === String(data.length)) break
        await new Promise(resolve => setTimeout(resolve, 500))
      }
      const samples = new Map<string, number>()
      for (const line of text.trimEnd().split('\n')) {
        if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? ([-+]?(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?|NaN|Inf))$/.exec(line)
        assert.ok(match !== null, `not a Prometheus sample: ${line}`)
        samples.set(`${match[1] as string}${match[2] ?? ''}`, Number(match[3]))
      }
      assert.equal(samples.get('verity_http_bytes_served_total'), served)
      assert.equal(samples.get('verity_http_requests_total{route="blob",status="206"}'), 4)
      assert.ok((samples.get('verity_fetched_bytes_total') ?? 0) >= data.length, 'fetched from the provider')
      assert.equal(samples.get('verity_store_bytes'), data.length)
      assert.ok((samples.get('verity_active_connections') ?? 0) >= 1)
      // The process, from prom-client's default metrics: the event-loop delay among them.
      assert.ok((samples.get('nodejs_eventloop_lag_p99_seconds') ?? -1) >= 0)
      assert.equal(samples.get('verity_provider_requests_queued'), 0)
    } finally {
      assert.equal(await gateway.stop(), 0)
      await sender.stop()
    }
  })
})
