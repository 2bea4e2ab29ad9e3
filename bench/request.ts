import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createNode } from '../src/node/create-node.js'
import { createRequestClient, HttpRequestClient, type RequestClient } from '../src/request/index.js'
import { measureCalls, printTable, type Row } from './measure.js'
import { startServer, writeRandom } from './origin.js'

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js')
const RANGE = 1 << 20

/**
 * 1 MiB ranged gets through the request SDK from a warm seed (`verity serve --seed`, its own
 * process, the file imported by a first get) against the same ranges straight from the origin
 * (another process) over keep-alive HTTP, in one run: `gets` each, `concurrency` at a time. The
 * SDK verified over HTTP (the seed sends the encoded range stream, the SDK checks each group),
 * unverified over HTTP (the seed's bytes as they come), and verified over libp2p (QUIC,
 * `/verity/request/1`, the seed by its peer id).
 */
export async function requestBench (size = 64 << 20, gets = 400, concurrency = 4): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-request-'))
  const file = join(dir, 'origin.bin')
  writeRandom(file, size)
  const origin = await startServer(file)
  // The origin is on 127.0.0.1: a seed reaches it for others only under --origin-allow.
  const seed = spawn(process.execPath, [cli, 'serve', '--seed', '--origin-allow', `http://127.0.0.1:${origin.port}/`, '--http', '127.0.0.1:0', '--json', '--data-dir', join(dir, 'seed'), '--listen', '/ip4/127.0.0.1/udp/0/quic-v1', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  // The seed's own messages, not its access log (a line per get).
  createInterface({ input: seed.stderr }).on('line', line => { if (!line.startsWith('127.0.0.1 - - [')) process.stderr.write(line + '\n') })
  try {
    const first = await createInterface({ input: seed.stdout })[Symbol.asyncIterator]().next()
    const ready = JSON.parse(first.value as string) as { url: string, peerId: string, addrs: string[] }
    const host = new URL(ready.url).host
    const quic = ready.addrs.find(addr => addr.includes('/quic-v1')) as string
    const url = `http://127.0.0.1:${origin.port}/file`
    const node = await createNode()
    const sdk = createRequestClient({ seeds: [host] })
    const trusting = createRequestClient({ seeds: [host], verify: false })
    const overLibp2p = createRequestClient({ seeds: [quic.includes('/p2p/') ? quic : `${quic}/p2p/${ready.peerId}`], libp2p: node.libp2p })
    const plain = new HttpRequestClient()
    const whole = new Uint8Array(size)
    await sdk.getInto({ url }, whole) // the seed imports it: warm from here on
    const offsets = Array.from({ length: gets }, (_, i) => ((i * 7919) % Math.floor((size - RANGE) / 4096)) * 4096)
    const buffer = new Uint8Array(RANGE)
    const through = (client: RequestClient) => async (start: number): Promise<void> => {
      await client.getInto({ url, headers: { range: `bytes=${start}-${start + RANGE - 1}` } }, buffer)
    }
    const verified = await measure(offsets, concurrency, through(sdk))
    const unverified = await measure(offsets, concurrency, through(trusting))
    const libp2p = await measure(offsets, concurrency, through(overLibp2p))
    const direct = await measure(offsets, concurrency, async start => {
      const res = await plain.open(url, { headers: { range: `bytes=${start}-${start + RANGE - 1}` } })
      let at = 0
      for await (const part of res.body) { buffer.set(part, at); at += part.length }
    })
    const row = (what: string, m: Awaited<ReturnType<typeof measure>>): Row => ({ what, 'req/s': m.perSecond, 'p50 ms': m.p50, 'p99 ms': m.p99, 'x origin': m.perSecond / direct.perSecond })
    const rows: Row[] = [
      row('request SDK -> warm seed over HTTP, verified (application/x-bao, every group checked)', verified),
      row('request SDK -> warm seed over HTTP, verify: false (the seed\'s bytes as sent)', unverified),
      row('request SDK -> warm seed over libp2p QUIC, verified (/verity/request/1)', libp2p),
      row('the origin directly over keep-alive HTTP (reference)', direct)
    ]
    printTable(`Request SDK, ${gets} ranged gets of 1 MiB from a ${size >> 20} MiB file, ${concurrency} at a time (seed, origin and client each in their own process)`, rows)
    await Promise.all([sdk.close(), trusting.close(), overLibp2p.close(), plain.close()])
    await node.stop()
  } finally {
    seed.kill('SIGINT')
    origin.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The first 20 gets warm the connections and the JIT; then every offset, timed. */
async function measure (offsets: number[], concurrency: number, get: (start: number) => Promise<void>): Promise<{ perSecond: number, p50: number, p99: number }> {
  for (const start of offsets.slice(0, 20)) await get(start)
  return await measureCalls(offsets.length, concurrency, async i => { await get(offsets[i] as number) })
}
