import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3 } from '../../store/bao/hash.js'
import { fromHex, toHex } from '../../store/hash-text.js'
import { decodeRanges } from '../../store/bao/decode.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
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
      // A fresh gateway: HEAD fetches what GET would, so a range only the chunks under it (with the
      // size proof and the first chunk, which the type is sniffed from), and the GET after it nothing more.
      const fetched = async (): Promise<number> => Number(/^verity_fetched_bytes_total (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1])
      const sized = await fetch(`${url}/blob/${hex}`, { method: 'HEAD', headers: { range: 'bytes=3000000-3099999' } })
      assert.deepEqual([sized.status, sized.headers.get('content-length'), sized.headers.get('content-range'), sized.headers.get('content-type')],
        [206, '100000', `bytes 3000000-3099999/${data.length}`, 'application/octet-stream'])
      assert.ok(await fetched() < 256 * 1024, `HEAD of a 100 kB range fetched ${await fetched()} bytes`)
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
      assert.equal(samples.get('verity_http_requests_total{route="blob",status="206"}'), 5)
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

  it('browses a collection fetched on demand from a sender: HTML and JSON listings, a nested file typed by its name, a verifiable answer; HEAD and GET agree on a partial blob', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 3, 9)
    const css = new TextEncoder().encode('body { color: teal }\n')
    mkdirSync(join(dir, 'site', 'css'), { recursive: true })
    mkdirSync(join(dir, 'site', 'media', 'clips'), { recursive: true })
    writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><title>site</title>')
    writeFileSync(join(dir, 'site', 'css', 'main.css'), css)
    writeFileSync(join(dir, 'site', 'media', 'clips', 'big clip.bin'), big)
    const sender = await startVerity(['send', join(dir, 'site'), '--json', '--data-dir', join(dir, 'send-site'), ...LOCAL])
    const { ticket, hash } = JSON.parse(sender.line) as { ticket: string, hash: string }
    const gateway = await startVerity(['serve', '--http', '127.0.0.1:0', '--provider', ticket, '--timeout', '2s', '--data-dir', join(dir, 'serve-site'), ...LOCAL])
    let senderUp = true
    try {
      const url = `${gateway.line}/blob/${hash}`
      const html = await fetch(`${url}/site/`)
      assert.equal(html.status, 200)
      assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8')
      const page = await html.text()
      for (const link of ['href="./css/"', 'href="./media/"', 'href="./index.html"', 'href="./index.html?download"']) assert.ok(page.includes(link), link)
      const json = await fetch(`${url}/site/media/clips/`, { headers: { accept: 'application/json' } })
      assert.equal(json.headers.get('content-type'), 'application/json')
      const listing = await json.json() as { path: string, entries: Array<{ name: string, href: string, here: string, size: number | null }> }
      assert.deepEqual([listing.path, listing.entries], ['site/media/clips', [{ name: 'big clip.bin', type: 'file', href: './big%20clip.bin', hash: toHex(blake3(big)), size: null, here: 'absent' }]])
      // Both 200 while the sender delivers.
      for (const method of ['HEAD', 'GET']) {
        const styled = await fetch(`${url}/site/css/main.css`, { method })
        assert.deepEqual([styled.status, styled.headers.get('content-type'), styled.headers.get('x-content-type-options')], [200, 'text/css; charset=utf-8', 'nosniff'], method)
        assert.ok(Buffer.from(await styled.arrayBuffer()).equals(Buffer.from(method === 'GET' ? css : [])), method)
      }
      // Part of the big file, as the encoded range stream, verified here against its hash.
      const range = 'bytes=2000000-2099999'
      const bao = await fetch(`${url}/site/media/clips/big%20clip.bin`, { headers: { accept: 'application/x-bao', range } })
      assert.deepEqual([bao.status, bao.headers.get('content-type'), bao.headers.get('x-verity-hash')], [206, 'application/x-bao', toHex(blake3(big))])
      const got = new Uint8Array(big.length)
      for await (const item of decodeRanges(fromHex(toHex(blake3(big))), ChunkRanges.fromByteRange(2000000, 2100000), [new Uint8Array(await bao.arrayBuffer())])) {
        if (item.type === 'leaf') got.set(item.data, item.offset)
      }
      assert.ok(Buffer.from(got.subarray(2000000, 2100000)).equals(Buffer.from(big.subarray(2000000, 2100000))))
      // The sender gone: the gateway holds that part only. HEAD says what GET says.
      await sender.stop()
      senderUp = false
      for (const method of ['HEAD', 'GET']) {
        const whole = await fetch(`${url}/site/media/clips/big%20clip.bin`, { method })
        assert.equal(whole.status, 502, `${method} of the whole file`)
        await whole.arrayBuffer()
        const part = await fetch(`${url}/site/media/clips/big%20clip.bin`, { method, headers: { range } })
        assert.equal(part.status, 206, `${method} of the part here`)
        assert.equal(Buffer.from(await part.arrayBuffer()).length, method === 'GET' ? 100000 : 0)
      }
    } finally {
      assert.equal(await gateway.stop(), 0)
      if (senderUp) await sender.stop()
    }
  })
})
