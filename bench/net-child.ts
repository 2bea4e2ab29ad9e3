/**
 * One side of the network benchmark, in its own process. Prints one JSON line, then (provider)
 * serves until stdin closes.
 *   provide <size>                        -> { addrs, hash }: a MemStore node holding <size> bytes,
 *                                            also serving them raw (no hashing) on RAW_PROTOCOL
 *   fetch raw|mem|fs <addr> <hash> <size> -> { seconds, bytes, maxRssMB, cpuSeconds }
 *   download none|split quiet|listen <hash> <size> <addr>...
 *                                         -> the same, with bytesReceived, progressItems and the
 *                                            verified bytes each provider delivered, in <addr> order:
 *                                            a Downloader fetch into an FsStore; `listen` consumes
 *                                            every progress item (callback and async iteration)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '../src/node/create-node.js'
import { byteStream } from '../src/node/stream.js'
import { fromHex, toHex } from '../store/hash-text.js'

/** Sends the provider's bytes as they are: the transport's own throughput, the reference row. */
export const RAW_PROTOCOL = '/verity-bench/raw/1'
const PIECE = 256 << 10

const [role, ...args] = process.argv.slice(2)
if (role === 'provide') {
  const size = Number(args[0])
  const data = new Uint8Array(size)
  const words = new Uint32Array(data.buffer, 0, Math.floor(size / 4))
  for (let i = 0, x = 0x9e3779b9; i < words.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; words[i] = x >>> 0 }
  const node = await createNode()
  const { hash } = await node.blobs.addBytes(data)
  await node.libp2p.handle(RAW_PROTOCOL, async stream => {
    const s = byteStream(stream)
    for await (const _ of s.source) { /* the request is one byte */ }
    for (let at = 0; at < size; at += PIECE) await s.write(data.subarray(at, at + PIECE))
    await s.closeWrite()
  })
  process.stdout.write(JSON.stringify({ addrs: node.addrs().map(String), hash: toHex(hash) }) + '\n')
  process.stdin.resume()
  await new Promise(resolve => process.stdin.once('end', resolve))
  await node.stop()
} else if (role === 'fetch') {
  const [mode, addr, hex, size] = args as [string, string, string, string]
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-fetch-'))
  const node = await createNode(mode === 'fs' ? { dataDir: dir } : {})
  try {
    await node.pool.warmup([addr])
    const cpuBefore = process.cpuUsage()
    const start = process.hrtime.bigint()
    let bytes = 0
    if (mode === 'raw') {
      const stream = byteStream(await node.libp2p.dialProtocol(multiaddr(addr), RAW_PROTOCOL))
      await stream.write(new Uint8Array([1])) // a request of one byte, as every real request has some
      await stream.closeWrite()
      for await (const chunk of stream.source) bytes += chunk.length
    } else {
      const result = await node.remote.fetch(addr, fromHex(hex))
      if (!result.complete) throw new Error('fetch ended incomplete')
      bytes = result.bytesWritten
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const cpu = process.cpuUsage(cpuBefore)
    if (bytes !== Number(size)) throw new Error(`got ${bytes} bytes, expected ${size}`)
    // CPU of every thread of this process (JS, libuv pool, the QUIC transport's own threads).
    process.stdout.write(JSON.stringify({ seconds, bytes, maxRssMB: peakRssMB(), cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n')
  } finally {
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  process.exit(0)
} else if (role === 'download') {
  const [strategy, listen, hex, size, ...addrs] = args as ['none' | 'split', string, string, string, ...string[]]
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-download-'))
  const node = await createNode({ dataDir: dir })
  try {
    await node.pool.warmup(addrs)
    const cpuBefore = process.cpuUsage()
    const start = process.hrtime.bigint()
    let progressItems = 0
    const handle = node.downloader.download({
      request: fromHex(hex),
      providers: addrs,
      strategy,
      ...(listen === 'listen' ? { onProgress: () => { progressItems++ } } : {})
    })
    let iterated = 0
    if (listen === 'listen') for await (const _ of handle) iterated++
    const result = await handle
    if (iterated !== progressItems && listen === 'listen') throw new Error(`iterated ${iterated} progress items, the callback saw ${progressItems}`)
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const cpu = process.cpuUsage(cpuBefore)
    if (result.bytes !== Number(size) || result.localBytes !== 0) throw new Error(`downloaded ${result.bytes} bytes (${result.localBytes} local), expected ${size}`)
    const byProvider = addrs.map(a => result.providers[a.slice(a.lastIndexOf('/') + 1)]?.bytes ?? 0)
    process.stdout.write(JSON.stringify({
      seconds, bytes: result.bytes, bytesReceived: result.bytesReceived, progressItems, byProvider, maxRssMB: peakRssMB(), cpuSeconds: (cpu.user + cpu.system) / 1e6
    }) + '\n')
  } finally {
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  process.exit(0)
} else {
  throw new Error(`unknown role ${String(role)}`)
}

/** VmHWM: the peak resident set of this process image (see bench/store-child.ts). */
function peakRssMB (): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return match === null ? process.resourceUsage().maxRSS / 1024 : Number(match[1]) / 1024
}
