import { printTable, type Row } from './measure.js'
import { cpuOf, runNetChild, startProvider } from './net.js'

const ROUNDS = 5
/** Striping over two providers may cost at most this much against one provider. */
const MAX_SLOWDOWN = 0.15

interface Fetched { seconds: number, bytes: number, maxRssMB: number, cpuSeconds: number, bytesReceived?: number, progressItems?: number, byProvider?: number[] }
interface Case { what: string, args: (addrs: string[], hash: string) => string[], providers: number }
interface Best { fetched: Fetched, mbs: number, providerCpu: number }

/**
 * The Downloader over QUIC into an FsStore, 256 MiB: one provider against the same blob striped
 * over two provider processes, with and without a consumer of every progress item, beside a plain
 * Remote.fetch. Rounds go case by case in turn, so drift on a shared machine hits every case alike;
 * each case keeps its best round.
 */
export async function downloaderBench (size = 256 << 20): Promise<void> {
  const providers = [await startProvider(size), await startProvider(size)]
  try {
    const [first, second] = providers as [typeof providers[0], typeof providers[0]]
    if (first.hash !== second.hash) throw new Error('the two providers hold different blobs')
    const n = String(size)
    const cases: Case[] = [
      { what: 'Remote.fetch, one provider (no Downloader)', providers: 1, args: ([a], hash) => ['fetch', 'fs', a as string, hash, n] },
      { what: 'Downloader, one provider (reference)', providers: 1, args: ([a], hash) => ['download', 'split', 'quiet', hash, n, a as string] },
      { what: 'Downloader, one provider, every progress item read', providers: 1, args: ([a], hash) => ['download', 'split', 'listen', hash, n, a as string] },
      { what: 'Downloader split, two providers', providers: 2, args: (addrs, hash) => ['download', 'split', 'quiet', hash, n, ...addrs] },
      { what: 'Downloader split, two providers, every progress item read', providers: 2, args: (addrs, hash) => ['download', 'split', 'listen', hash, n, ...addrs] }
    ]
    const best: Array<Best | undefined> = cases.map(() => undefined)
    for (let round = 0; round < ROUNDS; round++) {
      cases.forEach((c, i) => {
        const used = providers.slice(0, c.providers)
        const before = used.map(p => cpuOf(p.pid))
        const fetched = runNetChild<Fetched>(c.args(used.map(p => p.quic), first.hash))
        const providerCpu = used.reduce((sum, p, j) => sum + cpuOf(p.pid) - (before[j] as number), 0)
        const mbs = fetched.bytes / fetched.seconds / 1e6
        if (mbs > (best[i]?.mbs ?? 0)) best[i] = { fetched, mbs, providerCpu }
      })
    }
    const reference = (best[1] as Best).mbs
    const rows: Row[] = cases.map((c, i) => {
      const { fetched, mbs, providerCpu } = best[i] as Best
      const shares = fetched.byProvider?.map(b => `${Math.round(b / fetched.bytes * 100)}%`).join(' / ') ?? ''
      return {
        what: c.what,
        'MB/s': mbs,
        ratio: mbs / reference,
        'per provider': shares,
        'received / size': fetched.bytesReceived === undefined ? '' : fetched.bytesReceived / fetched.bytes,
        'progress items': fetched.progressItems ?? '',
        'fetcher peak RSS MB': fetched.maxRssMB,
        'fetcher CPU s': fetched.cpuSeconds,
        'providers CPU s': providerCpu
      }
    })
    printTable(`Downloader, ${size >> 20} MiB over QUIC into an FsStore, each provider its own process, best of ${ROUNDS} ` +
      `(target: split over two providers at least ${1 - MAX_SLOWDOWN}x one provider)`, rows)
  } finally {
    await Promise.all(providers.map(async p => { await p.stop() }))
  }
}
