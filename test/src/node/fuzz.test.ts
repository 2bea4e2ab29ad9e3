import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { IROH_PROTOCOL, VERITY_PROTOCOL } from '../../../protocol/constants.js'
import { RangeSpecSeq } from '../../../protocol/range-spec.js'
import { encodeRequest, type Request } from '../../../protocol/request.js'
import { fromHex } from '../../../store/hash-text.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { randomBytes } from '../../helpers.js'
import { LOCAL, startVerity, verity } from '../cli-process.js'
import { ask, healthWatch, memoryOf, varint } from './attack-tools.js'

/** A seeded generator (xorshift32): a failing run is repeated with VERITY_FUZZ_SEED. */
class Random {
  private x: number
  constructor (readonly seed: number) { this.x = (seed >>> 0) || 1 }
  next (): number {
    this.x ^= this.x << 13; this.x >>>= 0
    this.x ^= this.x >>> 17
    this.x ^= this.x << 5; this.x >>>= 0
    return this.x / 2 ** 32
  }

  int (n: number): number { return Math.floor(this.next() * n) }
  pick<T> (items: readonly T[]): T { return items[this.int(items.length)] as T }
  bytes (n: number): number[] { return Array.from({ length: n }, () => this.int(256)) }
}

/** Bytes appended to a growing buffer (a request of 600 KiB built without arrays of numbers). */
class Writer {
  private buffer = new Uint8Array(1024)
  private length = 0
  byte (value: number): this { return this.bytes([value]) }
  varint (value: number): this { return this.bytes(varint(value)) }
  bytes (values: ArrayLike<number>): this {
    if (this.length + values.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + values.length))
      grown.set(this.buffer.subarray(0, this.length))
      this.buffer = grown
    }
    this.buffer.set(values, this.length)
    this.length += values.length
    return this
  }

  finish (): Uint8Array { return this.buffer.slice(0, this.length) }
}

/** Requests a hostile peer might send: valid ones mutated, junk, and range sets at and past the limits. */
function fuzzRequest (rng: Random, hashes: Uint8Array[]): Uint8Array {
  const hash = rng.pick(hashes)
  const ranges = (): ChunkRanges => {
    const bounds: number[] = []
    let at = 0
    for (let i = rng.int(20); i > 0; i--) { at += 1 + rng.int(300); bounds.push(at) }
    return ChunkRanges.fromBoundaries(bounds)
  }
  const valid = (): Uint8Array => {
    const requests: Request[] = [
      { type: 'get', request: { hash, ranges: RangeSpecSeq.root(rng.next() < 0.5 ? ChunkRanges.all() : ranges()) } },
      { type: 'get', request: { hash, ranges: RangeSpecSeq.all() } },
      { type: 'get', request: { hash, ranges: RangeSpecSeq.fromRanges([ChunkRanges.empty(), ranges(), ChunkRanges.lastChunk()]) } },
      { type: 'getMany', hashes: hashes.slice(0, 1 + rng.int(hashes.length)), ranges: RangeSpecSeq.fromRangesInfinite([ranges()]) },
      { type: 'observe', hash, ranges: ranges() },
      { type: 'push', request: { hash, ranges: RangeSpecSeq.root() } }
    ]
    return encodeRequest(rng.pick(requests))
  }
  switch (rng.int(6)) {
    case 0: { // junk, sometimes with a known type byte
      const junk = rng.bytes(rng.int(400))
      if (junk.length > 0 && rng.next() < 0.6) junk[0] = rng.pick([0, 1, 8, 9])
      return Uint8Array.from(junk)
    }
    case 1: case 2: { // a valid request, mutated a few times
      const bytes = [...valid()]
      for (let m = 1 + rng.int(4); m > 0; m--) {
        const at = rng.int(bytes.length)
        switch (rng.int(5)) {
          case 0: bytes[at] = (bytes[at] as number) ^ (1 << rng.int(8)); break
          case 1: bytes[at] = rng.pick([0, 0x7f, 0x80, 0xff]); break
          case 2: bytes.length = at; break
          case 3: bytes.splice(at, 0, ...rng.bytes(1 + rng.int(40))); break
          default: bytes.splice(at, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
        }
      }
      return Uint8Array.from(bytes)
    }
    case 3: { // a RangeSpec of thousands of ranges, under and over the limit, widths of all sizes
      const boundaries = 2000 + rng.int(20000)
      const out = new Writer().byte(0).bytes(hash).byte(1).byte(0).varint(boundaries)
      for (let i = 0; i < boundaries; i++) out.varint(rng.next() < 0.8 ? rng.int(3) : rng.int(1 << 20))
      return out.finish()
    }
    case 4: { // a RangeSpecSeq of thousands of entries
      const entries = 1000 + rng.int(6000)
      const out = new Writer().byte(0).bytes(hash).varint(entries)
      for (let i = 0; i < entries; i++) out.byte(rng.int(3)).byte(2).byte(rng.int(4)).byte(1 + rng.int(4))
      return out.finish()
    }
    default: { // a GetMany of many hashes, or a body over 1 MiB
      if (rng.next() < 0.05) return new Writer().byte(0).bytes(randomBytes((1 << 20) + 100, rng.int(1000))).finish()
      const count = 1 + rng.int(20000)
      const out = new Writer().byte(9).varint(count)
      for (let i = 0; i < count; i++) out.bytes(rng.next() < 0.5 ? hash : randomBytes(32, rng.int(1 << 30)))
      return out.byte(1).byte(0).byte(1).byte(0).finish()
    }
  }
}

/** One HTTP request a hostile client might make; resolves with the status, or 0 when it was cut. */
async function fuzzHttp (rng: Random, url: URL, hexes: string[]): Promise<number> {
  const hex = rng.pick(hexes)
  const paths = [
    `/blob/${hex}`, `/blob/${hex}?filename=${encodeURIComponent(String.fromCharCode(...rng.bytes(20)))}`, `/blob/${hex.toUpperCase()}`,
    `/blob/${hex.slice(1)}`, `/blob/${'z'.repeat(64)}`, '/blob/', '/metrics', '/health', `/${'a/'.repeat(rng.int(2000))}`,
    `/blob/${hex}/../../etc/passwd`, `/blob/%00${hex}`, '/%', '*'
  ]
  const ranges = [
    undefined, 'bytes=0-0', `bytes=${rng.int(5 << 20)}-`, `bytes=-${rng.int(5 << 20)}`, `bytes=${rng.int(1 << 22)}-${rng.int(1 << 22)}`,
    'bytes=0-1,5-9', 'bytes=99999999999999999999-', 'bytes=-0', 'items=0-5', 'bytes=--', `bytes=${'9'.repeat(400)}-1`
  ]
  const headers: Record<string, string> = {}
  const range = rng.pick(ranges)
  if (range !== undefined) headers.range = range
  if (rng.next() < 0.2) headers['if-none-match'] = rng.pick([`"${hex}"`, '*', 'W/"x"', '"'.repeat(300)])
  if (rng.next() < 0.05) headers['x-junk'] = 'j'.repeat(4000)
  const method = rng.pick(['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])
  const cut = rng.next() < 0.15
  return await new Promise(resolve => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: rng.pick(paths), method, headers, timeout: 5000 }, res => {
      let received = 0
      res.on('data', (chunk: Buffer) => {
        received += chunk.length
        // A client that stops reading mid-body and resets, or one that has seen enough.
        if ((cut && received > 0) || received > (1 << 20)) { req.destroy(); resolve(res.statusCode ?? 0) }
      })
      res.on('end', () => { resolve(res.statusCode ?? 0) })
      res.on('error', () => { resolve(0) })
    })
    req.on('error', () => { resolve(0) })
    req.on('timeout', () => { req.destroy(); resolve(0) })
    if (method === 'POST' || method === 'PUT') req.write(Buffer.from(rng.bytes(rng.int(2000))))
    req.end()
  })
}

/** `name` of a Prometheus text exposition, as a number. */
function metric (text: string, name: string): number {
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  if (line === undefined) throw new Error(`no ${name} in /metrics`)
  return Number(line.slice(name.length + 1))
}

describe('fuzzing a provider and its gateway (a verity serve process)', function () {
  this.timeout(300000)
  const seed = Number(process.env.VERITY_FUZZ_SEED ?? 20261129)
  let dir: string
  let serve: Awaited<ReturnType<typeof startVerity>>
  let url: URL
  let addr: string
  let blob: Uint8Array
  let collection: Uint8Array
  const nodes: VerityNode[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-fuzz-'))
    writeFileSync(join(dir, 'blob.bin'), randomBytes(4 << 20, 1501))
    mkdirSync(join(dir, 'files'))
    for (let i = 0; i < 12; i++) writeFileSync(join(dir, 'files', `f${i}.bin`), randomBytes(1000 + i * 5000, 1510 + i))
    const added = await verity(['add', join(dir, 'blob.bin'), join(dir, 'files'), '--data-dir', join(dir, 'data')])
    assert.equal(added.status, 0, added.stderr)
    const [blobHex, collectionHex] = added.stdout.toString().trim().split('\n').map(line => line.split(/\s+/)[0] as string)
    blob = fromHex(blobHex as string)
    collection = fromHex(collectionHex as string)
    serve = await startVerity(['serve', '--data-dir', join(dir, 'data'), '--http', '127.0.0.1:0', '--json', ...LOCAL])
    const ready = JSON.parse(serve.line) as { url: string, addrs: string[] }
    url = new URL(ready.url)
    addr = ready.addrs.find(a => a.includes('/quic-v1')) as string
  })
  after(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
    await serve?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('5,000 random and mutated requests and 1,000 random HTTP requests: the provider stays up, p99 event-loop delay under 100 ms, a good fetch completes', async () => {
    const rng = new Random(seed)
    const hashes = [blob, collection, randomBytes(32, 1599)]
    // The first scrape starts the event-loop delay window (prom-client resets it at each scrape).
    await (await fetch(`${url.origin}/metrics`)).text()
    let peak = memoryOf(serve.pid).rss
    const sampler = setInterval(() => { peak = Math.max(peak, memoryOf(serve.pid).rss) }, 100)
    const health = healthWatch(url.origin)
    const attackers = await Promise.all([0, 1, 2, 3].map(async () => { const n = await createNode(); nodes.push(n); return n }))
    const connections: Connection[] = await Promise.all(attackers.map(async n => await n.libp2p.dial(multiaddr(addr))))
    const honest = await createNode()
    nodes.push(honest)
    const outcomes: Record<string, number> = {}
    const timeOf: Record<string, number> = {}
    try {
      let sent = 0
      let goodFetch: Promise<unknown> | undefined
      const peerFuzz = Promise.all(Array.from({ length: 24 }, async (_, worker) => {
        while (sent < 5000) {
          const i = sent++
          if (i === 1000) {
            goodFetch = Promise.all([
              honest.remote.fetch(addr, blob),
              honest.downloader.download({ request: { hash: collection, format: 'hashseq' }, providers: [addr] }).result
            ])
          }
          const connection = connections[worker % connections.length] as Connection
          let answer: Awaited<ReturnType<typeof ask>>
          try {
            answer = await ask(connection, fuzzRequest(rng, hashes), { protocol: rng.next() < 0.2 ? IROH_PROTOCOL : VERITY_PROTOCOL, keep: 64 * 1024, ms: 1500 })
          } catch (err) {
            // The attacker's own connection failed (a reset it provoked): dial again.
            connections[worker % connections.length] = await (attackers[worker % attackers.length] as VerityNode).libp2p.dial(multiaddr(addr))
            answer = { bytes: 0, tail: '', error: (err as Error).name, ms: 0 }
          }
          const ending = /\x00[\x01-\x06][\s\S]?([A-Za-z]+):/.exec(answer.tail)?.[1] ?? (answer.error !== undefined ? 'reset or cut' : answer.bytes > 0 ? 'data' : 'empty')
          outcomes[ending] = (outcomes[ending] ?? 0) + 1
          timeOf[ending] = (timeOf[ending] ?? 0) + answer.ms
        }
      }))
      const statuses: Record<number, number> = {}
      const hexes = hashes.map(h => Buffer.from(h).toString('hex'))
      let made = 0
      const httpFuzz = Promise.all(Array.from({ length: 12 }, async () => {
        while (made < 1000) {
          made++
          const status = await fuzzHttp(rng, url, hexes)
          statuses[status] = (statuses[status] ?? 0) + 1
        }
      }))
      await Promise.all([peerFuzz, httpFuzz])
      await goodFetch
      assert.ok(Buffer.from(await honest.blobs.getBytes(blob)).equals(randomBytes(4 << 20, 1501)), 'the good fetch verified')
      const text = await (await fetch(`${url.origin}/metrics`)).text()
      const p99 = metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000
      const max = metric(text, 'nodejs_eventloop_lag_max_seconds') * 1000
      clearInterval(sampler)
      const watched = await health.stop()
      const mb = (name: string): string => (metric(text, name) / 1048576).toFixed(0)
      const note = `seed ${seed}: event-loop delay p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; RSS peak ${peak.toFixed(0)} MB ` +
        `(at the end: heap ${mb('nodejs_heap_size_used_bytes')} of ${mb('nodejs_heap_size_total_bytes')} MB, external ${mb('nodejs_external_memory_bytes')} MB); ` +
        `/health slowest ${watched.slowestMs.toFixed(0)} ms, ${watched.missed} of ${watched.polls} missed; peer outcomes ${JSON.stringify(outcomes)}; HTTP ${JSON.stringify(statuses)}`
      if (process.env.VERITY_DEBUG !== undefined) process.stderr.write(`${note}; ms per outcome ${JSON.stringify(Object.fromEntries(Object.entries(timeOf).map(([k, v]) => [k, Math.round(v / (outcomes[k] ?? 1))])))}\n`)
      // 20-35 ms alone here; 250 ms, as fair-share.test.ts bounds a loop that is not blocked, leaves
      // room for a busy machine (what this guards against took seconds).
      assert.ok(p99 < 250, note)
      // Peak RSS follows the collector's timing: alone 344-386 MB, two runs at once 352-433 MB
      // (the same before and after issue 21's changes), 543 MB once in a CI run whose JS heap had
      // grown to 331 MB with 95 in use. What this guards against is gigabytes (docs/limits-and-
      // security.md: one-byte writes took a provider to 4,500 MB, HashSeq reads to 2,850).
      assert.ok(peak < 768, note)
      process.kill(serve.pid, 0) // still running
      assert.equal((await fetch(`${url.origin}/health`)).status, 200)
      assert.ok((statuses[0] ?? 0) < 1000 && (statuses[200] ?? 0) + (statuses[206] ?? 0) > 0, note)
    } finally {
      clearInterval(sampler)
      await health.stop()
    }
  })
})
