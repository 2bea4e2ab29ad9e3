import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { printTable, runChild, statCpuSeconds, type Row } from './measure.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'net-child.js')
const ROUNDS = 5
/** Throughput of a verified fetch into an FsStore against the raw stream's, at least (issue 21). */
const TARGET = 0.75
/** CPU seconds of both processes for a verified fetch against the raw stream's, at most. */
const CPU_TARGET = 1.35
const RSS_LIMIT_MB = 180
/** CPU seconds a process has used, all threads, from /proc. */
export function cpuOf (pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`)
}

/** One fetch: throughput, the fetcher's peak RSS, CPU seconds of each process (all threads). */
interface Measured { mbs: number, rss: number, fetcherCpu: number, providerCpu: number }

/** Median and best of ROUNDS fetches; CPU and RSS are the medians (best-of would favour luck). */
interface Summary { median: Measured, best: number }

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/**
 * Provider and fetcher as two processes on 127.0.0.1: the raw libp2p stream (no hashing, written
 * in pieces of a verity frame's size) beside verified fetches into a MemStore and an FsStore, over
 * QUIC and over TCP. The provider serves the blob from an FsStore. Each fetch runs in a fresh
 * process with a fresh store, after dialling (both kinds open their stream inside the timer);
 * ROUNDS fetches per row, in turns (raw, mem, fs, raw, ...) so that a slow spell of the shared
 * machine falls on every row alike. CPU is of both processes, every thread, from /proc. Every
 * process runs with the heap the `verity` command gives itself (tuneHeap; the longrun bench
 * compares it with V8's default; VERITY_BENCH_HEAP=default runs this one so): the provider
 * serves 30 fetches, a long run for V8's heap.
 */
export async function netBench (size = 256 << 20): Promise<void> {
  // VERITY_BENCH_HEAP=default in the bench's own environment runs it with V8's default heap.
  const env = { ...process.env, VERITY_BENCH_HEAP: process.env.VERITY_BENCH_HEAP ?? 'tuned' }
  const provider = await startProvider(size, { fs: true, env })
  try {
    const { hash, quic, tcp } = provider
    const once = (mode: string, addr: string): Measured => {
      const providerBefore = cpuOf(provider.pid)
      const result = runNetChild<{ seconds: number, bytes: number, maxRssMB: number, cpuSeconds: number }>(['fetch', mode, addr, hash, String(size)], { env })
      const providerCpu = cpuOf(provider.pid) - providerBefore
      return { mbs: result.bytes / result.seconds / 1e6, rss: result.maxRssMB, fetcherCpu: result.cpuSeconds, providerCpu }
    }
    const runs = new Map<string, Measured[]>()
    const kinds = [['raw', quic], ['mem', quic], ['fs', quic], ['raw', tcp], ['mem', tcp], ['fs', tcp]] as const
    for (let round = 0; round < ROUNDS; round++) {
      for (const [mode, addr] of kinds) {
        const key = `${mode} ${addr}`
        runs.set(key, [...(runs.get(key) ?? []), once(mode, addr)])
      }
    }
    const summary = (mode: string, addr: string): Summary => {
      const all = runs.get(`${mode} ${addr}`) as Measured[]
      return {
        median: { mbs: median(all.map(m => m.mbs)), rss: median(all.map(m => m.rss)), fetcherCpu: median(all.map(m => m.fetcherCpu)), providerCpu: median(all.map(m => m.providerCpu)) },
        best: Math.max(...all.map(m => m.mbs))
      }
    }
    const rawQuic = summary('raw', quic)
    const rawTcp = summary('raw', tcp)
    const rows: Row[] = []
    const cpu = (m: Measured): number => m.fetcherCpu + m.providerCpu
    const row = (what: string, result: Summary, reference: Summary, label: string): void => {
      rows.push({
        what,
        'MB/s median': result.median.mbs,
        best: result.best,
        ratio: result.median.mbs / reference.median.mbs,
        of: label,
        'fetcher peak RSS MB': result.median.rss,
        // CPU seconds per transfer, all threads: with two cores, their sum bounds the speed.
        'fetcher CPU s': result.median.fetcherCpu,
        'provider CPU s': result.median.providerCpu,
        'CPU ratio': cpu(result.median) / cpu(reference.median)
      })
    }
    row('raw libp2p stream, QUIC (reference)', rawQuic, rawQuic, 'raw QUIC')
    row('verified fetch into MemStore, QUIC', summary('mem', quic), rawQuic, 'raw QUIC')
    row('verified fetch into FsStore, QUIC', summary('fs', quic), rawQuic, 'raw QUIC')
    row('raw libp2p stream, TCP + noise + yamux (reference)', rawTcp, rawTcp, 'raw TCP')
    row('verified fetch into MemStore, TCP', summary('mem', tcp), rawTcp, 'raw TCP')
    row('verified fetch into FsStore, TCP', summary('fs', tcp), rawTcp, 'raw TCP')
    printTable(`Network, ${size >> 20} MiB, provider (FsStore) and fetcher in two processes on 127.0.0.1 (${env.VERITY_BENCH_HEAP === 'tuned' ? 'tuneHeap in both' : 'V8\'s default heap'}), median and best of ${ROUNDS} ` +
      `(targets for FsStore: MB/s at least ${TARGET}x and CPU of both processes at most ${CPU_TARGET}x the raw stream's on the same transport, ` +
      `fetcher peak RSS at most ${RSS_LIMIT_MB} MB)`, rows)
  } finally {
    await provider.stop()
  }
}

/** A provider process (`net-child provide`): a node holding `size` deterministic bytes, in a MemStore or (`fs`) an FsStore. */
export interface ProviderProcess { pid: number, hash: string, quic: string, tcp: string, stop: () => Promise<void> }

export async function startProvider (size: number, { fs = false, env }: { fs?: boolean, env?: NodeJS.ProcessEnv } = {}): Promise<ProviderProcess> {
  const provider = spawn(process.execPath, [child, 'provide', String(size), ...(fs ? ['fs'] : [])], { stdio: ['pipe', 'pipe', 'inherit'], ...(env === undefined ? {} : { env }) })
  const stop = async (): Promise<void> => {
    if (provider.exitCode !== null || provider.signalCode !== null) return
    const exited = new Promise(resolve => provider.once('exit', resolve))
    provider.stdin?.end()
    await exited
  }
  try {
    const first = await createInterface({ input: provider.stdout })[Symbol.asyncIterator]().next()
    if (first.done === true) throw new Error('the provider process exited before printing its addresses')
    const { addrs, hash } = JSON.parse(first.value as string) as { addrs: string[], hash: string }
    return {
      pid: provider.pid as number,
      hash,
      quic: addrs.find(a => a.includes('/quic-v1')) as string,
      tcp: addrs.find(a => a.includes('/tcp/')) as string,
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}
/** Runs `net-child` with `args` in a fresh process; its last stdout line, parsed. */
export function runNetChild<T> (args: string[], options: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): T {
  return runChild<T>(child, args, options)
}
