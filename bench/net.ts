import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { printTable, runChild, type Row } from './measure.js'

const child = join(dirname(fileURLToPath(import.meta.url)), 'net-child.js')
const ROUNDS = 3
const TARGET = 0.85
const RSS_LIMIT_MB = 200
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100

/** CPU seconds a process has used, all threads, from /proc. */
export function cpuOf (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ
}

interface Measured { mbs: number, rss: number, fetcherCpu: number, providerCpu: number }

/**
 * Provider and fetcher as two processes on 127.0.0.1: the raw libp2p stream (no hashing) beside
 * verified fetches into a MemStore and an FsStore, over QUIC and over TCP. Best of ROUNDS, each
 * fetch in a fresh process with a fresh store.
 */
export async function netBench (size = 256 << 20): Promise<void> {
  const provider = await startProvider(size)
  try {
    const { hash, quic, tcp } = provider
    const best = (mode: string, addr: string): Measured => {
      let top: Measured = { mbs: 0, rss: 0, fetcherCpu: 0, providerCpu: 0 }
      for (let round = 0; round < ROUNDS; round++) {
        const providerBefore = cpuOf(provider.pid)
        const result = runNetChild<{ seconds: number, bytes: number, maxRssMB: number, cpuSeconds: number }>(['fetch', mode, addr, hash, String(size)])
        const providerCpu = cpuOf(provider.pid) - providerBefore
        const mbs = result.bytes / result.seconds / 1e6
        if (mbs > top.mbs) top = { mbs, rss: result.maxRssMB, fetcherCpu: result.cpuSeconds, providerCpu }
      }
      return top
    }
    const rawQuic = best('raw', quic)
    const rawTcp = best('raw', tcp)
    const rows: Row[] = []
    const row = (what: string, result: Measured, reference: { mbs: number }, label: string): void => {
      rows.push({
        what,
        'MB/s': result.mbs,
        ratio: result.mbs / reference.mbs,
        of: label,
        'fetcher peak RSS MB': result.rss,
        // CPU seconds per transfer, all threads: with two cores, their sum bounds the speed.
        'fetcher CPU s': result.fetcherCpu,
        'provider CPU s': result.providerCpu
      })
    }
    row('raw libp2p stream, QUIC (reference)', rawQuic, rawQuic, 'raw QUIC')
    row('verified fetch into MemStore, QUIC', best('mem', quic), rawQuic, 'raw QUIC')
    row('verified fetch into FsStore, QUIC', best('fs', quic), rawQuic, 'raw QUIC')
    row('raw libp2p stream, TCP + noise + yamux', rawTcp, rawQuic, 'raw QUIC')
    row('verified fetch into MemStore, TCP', best('mem', tcp), rawTcp, 'raw TCP')
    row('verified fetch into FsStore, TCP', best('fs', tcp), rawTcp, 'raw TCP')
    printTable(`Network, ${size >> 20} MiB, provider and fetcher in two processes on 127.0.0.1, best of ${ROUNDS} ` +
      `(target: FsStore over QUIC at least ${TARGET}x raw QUIC, fetcher peak RSS under ${RSS_LIMIT_MB} MB)`, rows)
  } finally {
    await provider.stop()
  }
}

/** A provider process (`net-child provide`): a MemStore node holding `size` deterministic bytes. */
export interface ProviderProcess { pid: number, hash: string, quic: string, tcp: string, stop: () => Promise<void> }

export async function startProvider (size: number): Promise<ProviderProcess> {
  const provider = spawn(process.execPath, [child, 'provide', String(size)], { stdio: ['pipe', 'pipe', 'inherit'] })
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
export function runNetChild<T> (args: string[]): T {
  return runChild<T>(child, args)
}
