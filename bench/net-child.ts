/**
 * One side of the network benchmark, in its own process. Prints one JSON line, then (provider)
 * serves until stdin closes.
 *   provide <size> [fs]                   -> { addrs, hash }: a node holding <size> bytes in a
 *                                            MemStore (or an FsStore), also serving them raw (no
 *                                            hashing, from memory) on RAW_PROTOCOL
 *   fetch raw|mem|fs <addr> <hash> <size> -> { seconds, bytes, maxRssMB, cpuSeconds }
 *   fetch-many <count> <addr> <hash> <size>
 *                                         -> { fetches: [{ seconds, cpuSeconds, majorGcs }], maxRssMB }:
 *                                            one fetcher process fetching the blob <count> times into
 *                                            one FsStore (collected between fetches), as a long-running
 *                                            node does
 *   download none|split quiet|listen <hash> <size> <addr>...
 *                                         -> the same, with bytesReceived, progressItems and the
 *                                            verified bytes each provider delivered, in <addr> order:
 *                                            a Downloader fetch into an FsStore; `listen` consumes
 *                                            every progress item (callback and async iteration)
 * With VERITY_BENCH_HEAP=tuned, the process first sets V8's heap as the `verity` command does
 * (tuneHeap); otherwise it keeps V8's defaults, as a program using the library does.
 * With VERITY_BENCH_PROFILE=<dir> (`VERITY_BENCH_PROFILE=<dir> npm run bench -- net`), each
 * process writes to <dir> a CPU profile of the main thread (the fetcher: of the timed fetch; the
 * provider: of everything after the blob was added) and its CPU seconds over the same time by
 * thread name (`main`; `node`: V8's helper threads and the libuv pool; `tokio-rt-worker`: QUIC).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, type VerityNode } from '../src/node/create-node.js'
import { tuneHeap } from '../src/node/heap.js'
import { peakRssMB, statCpuSeconds } from './measure.js'
import { FRAME_SIZE } from '../protocol/frame.js'
import { byteStream } from '../src/net/stream.js'
import { fromHex, toHex } from '../store/hash-text.js'

/** Sends the provider's bytes as they are: the transport's own throughput, the reference row. */
export const RAW_PROTOCOL = '/verity-bench/raw/1'
/** The raw stream's writes: the size of a verity frame (payload and its 3-byte header). */
const PIECE = FRAME_SIZE + 3

if (process.env.VERITY_BENCH_HEAP === 'tuned') tuneHeap()

const [role, ...args] = process.argv.slice(2)
if (role === 'provide') {
  const size = Number(args[0])
  const data = new Uint8Array(size)
  const words = new Uint32Array(data.buffer, 0, Math.floor(size / 4))
  for (let i = 0, x = 0x9e3779b9; i < words.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; words[i] = x >>> 0 }
  const dir = args[1] === 'fs' ? mkdtempSync(join(tmpdir(), 'verity-bench-provide-')) : undefined
  const node = await createNode(dir === undefined ? {} : { dataDir: dir })
  const { hash } = await node.blobs.addBytes(data)
  const profile = await profiler()
  await node.libp2p.handle(RAW_PROTOCOL, async stream => {
    const s = byteStream(stream)
    for await (const _ of s.source) { /* the request is one byte */ }
    for (let at = 0; at < size; at += PIECE) await s.write(data.subarray(at, at + PIECE))
    await s.closeWrite()
  })
  process.stdout.write(JSON.stringify({ addrs: node.addrs().map(String), hash: toHex(hash) }) + '\n')
  process.stdin.resume()
  await new Promise(resolve => process.stdin.once('end', resolve))
  await profile?.('provider')
  await node.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
} else if (role === 'fetch') {
  const [mode, addr, hex, size] = args as [string, string, string, string]
  await timed(mode === 'fs', [addr], Number(size), async node => {
    if (mode === 'raw') {
      let bytes = 0
      const stream = byteStream(await node.libp2p.dialProtocol(multiaddr(addr), RAW_PROTOCOL))
      await stream.write(new Uint8Array([1])) // a request of one byte, as every real request has some
      await stream.closeWrite()
      for await (const chunk of stream.source) bytes += chunk.length
      return { bytes }
    }
    const result = await node.remote.fetch(addr, fromHex(hex))
    if (!result.complete) throw new Error('fetch ended incomplete')
    return { bytes: result.bytesWritten }
  })
} else if (role === 'fetch-many') {
  const [count, addr, hex, size] = args as [string, string, string, string]
  let majorGcs = 0
  const observer = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++
  })
  observer.observe({ entryTypes: ['gc'] })
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-fetch-'))
  const node = await createNode({ dataDir: dir })
  try {
    await node.pool.warmup([addr])
    const fetches: Array<{ seconds: number, cpuSeconds: number, majorGcs: number }> = []
    for (let i = 0; i < Number(count); i++) {
      const gcsBefore = majorGcs
      const cpuBefore = process.cpuUsage()
      const start = process.hrtime.bigint()
      const result = await node.remote.fetch(addr, fromHex(hex))
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      const cpu = process.cpuUsage(cpuBefore)
      if (!result.complete || result.bytesWritten !== Number(size)) throw new Error(`fetch ${i} wrote ${result.bytesWritten} bytes, expected ${size}`)
      // Node hands a collection's entry to the observer two turns of the event loop after it.
      for (let turn = 0; turn < 2; turn++) await new Promise(resolve => setImmediate(resolve))
      fetches.push({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, majorGcs: majorGcs - gcsBefore })
      // The next fetch fetches it all again: nothing tags what remote.fetch wrote.
      await node.blobs.gc()
    }
    process.stdout.write(JSON.stringify({ fetches, maxRssMB: peakRssMB() }) + '\n')
  } finally {
    observer.disconnect()
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  process.exit(0)
} else if (role === 'download') {
  const [strategy, listen, hex, size, ...addrs] = args as ['none' | 'split', string, string, string, ...string[]]
  await timed(true, addrs, Number(size), async node => {
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
    if (result.localBytes !== 0) throw new Error(`${result.localBytes} bytes were local in a fresh store`)
    const byProvider = addrs.map(a => result.providers[a.slice(a.lastIndexOf('/') + 1)]?.bytes ?? 0)
    return { bytes: result.bytes, bytesReceived: result.bytesReceived, progressItems, byProvider }
  })
} else {
  throw new Error(`unknown role ${String(role)}`)
}

/**
 * A fetcher node (in a fresh FsStore with `fs`, else a MemStore), connected to `addrs` first;
 * prints `run`'s figures with the seconds, CPU and peak RSS it took, then exits.
 */
async function timed (fs: boolean, addrs: string[], size: number, run: (node: VerityNode) => Promise<{ bytes: number } & Record<string, unknown>>): Promise<never> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-fetch-'))
  const node = await createNode(fs ? { dataDir: dir } : {})
  try {
    await node.pool.warmup(addrs)
    const profile = await profiler()
    const cpuBefore = process.cpuUsage()
    const start = process.hrtime.bigint()
    const figures = await run(node)
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const cpu = process.cpuUsage(cpuBefore)
    await profile?.('fetcher')
    if (figures.bytes !== size) throw new Error(`got ${figures.bytes} bytes, expected ${size}`)
    // CPU of every thread of this process (JS, libuv pool, the QUIC transport's own threads).
    process.stdout.write(JSON.stringify({ seconds, ...figures, maxRssMB: peakRssMB(), cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n')
  } finally {
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  process.exit(0)
}

/** With VERITY_BENCH_PROFILE set, starts the CPU profiler; the function returned writes what it took. */
async function profiler (): Promise<((name: string) => Promise<void>) | undefined> {
  const dir = process.env.VERITY_BENCH_PROFILE
  if (dir === undefined || dir === '') return undefined
  mkdirSync(dir, { recursive: true })
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  const before = threadCpu()
  await session.post('Profiler.start')
  return async name => {
    const { profile } = await session.post('Profiler.stop')
    const after = threadCpu()
    const byName = new Map<string, number>()
    for (const [tid, { comm, seconds }] of after) byName.set(comm, (byName.get(comm) ?? 0) + seconds - (before.get(tid)?.seconds ?? 0))
    writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile))
    writeFileSync(join(dir, `${name}-${process.pid}.threads.json`), JSON.stringify(Object.fromEntries([...byName].sort((a, b) => b[1] - a[1]))))
    session.disconnect()
  }
}

/** CPU seconds of each thread of this process so far (user and system, from /proc), by thread id. */
function threadCpu (): Map<string, { comm: string, seconds: number }> {
  const threads = new Map<string, { comm: string, seconds: number }>()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const comm = tid === String(process.pid) ? 'main' : readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
      threads.set(tid, { comm, seconds: statCpuSeconds(`/proc/self/task/${tid}/stat`) })
    } catch {} // a thread that ended meanwhile
  }
  return threads
}
