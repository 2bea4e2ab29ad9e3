import { cpuOf, median, runNetChild, startProvider } from './net.js'
import { printTable, type Row } from './measure.js'

/** What one fetch-many child reports (net-child.ts). */
interface ManyFetches { fetches: Array<{ seconds: number, cpuSeconds: number, majorGcs: number }>, maxRssMB: number }

const HEAPS = [
  { heap: 'default', label: 'V8\'s default heap (a program using the library)' },
  { heap: 'tuned', label: 'tuneHeap (as the verity command runs)' }
] as const

/**
 * Long-running nodes: one provider process (FsStore) serving one fetcher process that fetches the
 * same 256 MiB `count` times into one FsStore (collected between fetches), over QUIC and then TCP,
 * once with V8's default heap in both processes and once with the heap the `verity` command
 * sets (tuneHeap). The network bench starts a fresh fetcher per fetch and so never meets what a
 * long-running one does: back-to-back full collections once V8's room for the old generation
 * shrinks below the transport buffers held at any moment (src/node/heap.ts). Figures are means
 * per fetch over all of them (the long run is the point), full collections counted in the fetcher.
 * The provider's CPU is what it spent while the fetcher process ran (its dial and the store's
 * collections between fetches too), divided by the fetches; the default heap runs first.
 */
export async function longrunBench (size = 256 << 20, count = 12): Promise<void> {
  const rows: Row[] = []
  const byTransport = new Map<string, number>()
  for (const { heap, label } of HEAPS) {
    const env = { ...process.env, VERITY_BENCH_HEAP: heap }
    const provider = await startProvider(size, { fs: true, env })
    try {
      for (const [transport, addr] of [['QUIC', provider.quic], ['TCP', provider.tcp]] as const) {
        const before = cpuOf(provider.pid)
        // A minute per GiB fetched and one more: 12 fetches of 256 MiB take 15-30 s here.
        const timeoutMs = (count * size / 2 ** 30 + 1) * 60000
        const result = runNetChild<ManyFetches>(['fetch-many', String(count), addr, provider.hash, String(size)], { env, timeoutMs })
        const providerCpu = (cpuOf(provider.pid) - before) / count
        const fetches = result.fetches
        const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length
        const fetcherCpu = mean(fetches.map(f => f.cpuSeconds))
        const both = fetcherCpu + providerCpu
        const reference = byTransport.get(transport)
        if (reference === undefined) byTransport.set(transport, both)
        rows.push({
          what: `${transport}, ${label}`,
          'MB/s mean': size * fetches.length / fetches.reduce((a, f) => a + f.seconds, 0) / 1e6,
          'fetcher CPU s mean': fetcherCpu,
          'fetcher CPU s median': median(fetches.map(f => f.cpuSeconds)),
          'fetcher CPU s max': Math.max(...fetches.map(f => f.cpuSeconds)),
          'full GCs per fetch mean': mean(fetches.map(f => f.majorGcs)),
          'full GCs in one fetch, most': Math.max(...fetches.map(f => f.majorGcs)),
          'provider CPU s mean': providerCpu,
          'CPU of both x default': reference === undefined ? 1 : both / reference,
          'fetcher peak RSS MB': result.maxRssMB
        })
      }
    } finally {
      await provider.stop()
    }
  }
  printTable(`Long-running nodes, ${size >> 20} MiB fetched ${count} times by one fetcher process from one provider process (FsStore both), ` +
    'means per fetch; CPU of both processes against V8\'s default heap on the same transport', rows)
}
