import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { AnnounceStats } from '../src/discovery/interface.js'
import type { FleetCommand, FleetSpec } from '../test/src/discovery/fleet-child.js'
import { printTable, type Row } from './measure.js'

/** The test's fleet process (test/src/discovery/fleet-child.ts): nodes in a chain, driven by JSON lines. */
const child = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'src', 'discovery', 'fleet-child.js')
const MIB = 1 << 20
const PER_PROCESS = 5

class Fleet {
  private constructor (private readonly processes: Array<{ child: ChildProcess, lines: AsyncIterator<string>, peerIds: string[], addrs: string[] }>) {}

  static async start (count: number, dht: FleetSpec['dht']): Promise<Fleet> {
    const processes: Array<{ child: ChildProcess, lines: AsyncIterator<string>, peerIds: string[], addrs: string[] }> = []
    for (let left = count; left > 0; left -= PER_PROCESS) {
      const bootstrap = processes.at(-1)?.addrs.at(-1)
      const spec: FleetSpec = { count: Math.min(PER_PROCESS, left), dht, ...(bootstrap === undefined ? {} : { bootstrap }) }
      const proc = spawn(process.execPath, [child, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] })
      const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
      const ready = JSON.parse((await lines.next()).value as string) as { peerIds: string[], addrs: string[] }
      processes.push({ child: proc, lines, ...ready })
    }
    return new Fleet(processes)
  }

  /** Node n, 1-based. */
  async run<T> (n: number, command: Record<string, unknown>): Promise<T> {
    const proc = this.processes[Math.floor((n - 1) / PER_PROCESS)] as Fleet['processes'][number]
    proc.child.stdin?.write(JSON.stringify({ ...command, node: (n - 1) % PER_PROCESS } as FleetCommand) + '\n')
    const answer = JSON.parse((await proc.lines.next()).value as string) as T & { error?: string }
    if (answer.error !== undefined) throw new Error(answer.error)
    return answer
  }

  async peers (): Promise<number[]> {
    return (await Promise.all(this.processes.map(async (_, p) => (await this.run<{ peers: number[] }>(p * PER_PROCESS + 1, { cmd: 'peers' })).peers))).flat()
  }

  async stop (): Promise<void> {
    await Promise.all(this.processes.map(async p => {
      const exited = new Promise(resolve => p.child.once('exit', resolve))
      p.child.stdin?.end('stop\n')
      await exited
    }))
  }
}

async function waitFor (check: () => Promise<boolean>, ms: number): Promise<number> {
  const start = performance.now()
  while (!await check()) {
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return performance.now() - start
}

/**
 * Fleets of 5, 10 and 20 DHT nodes (5 per process, 127.0.0.1, bootstrapped in a chain; each node
 * looks itself up every 2 s so the tables converge in seconds): a 16 MiB blob added on node 1,
 * announced, then fetched by the last node by hash alone (time to the first provider, to the
 * whole blob verified). Then on the 20-node fleet 1,000 blobs of 1 KiB added on node 2 and
 * announced (4 at a time, the default): records per second.
 */
export async function dhtBench (): Promise<void> {
  const dht = { selfQueryIntervalMs: 2000, scanIntervalMs: 250 }
  const rows: Row[] = []
  let last: Fleet | undefined
  for (const count of [5, 10, 20]) {
    const fleet = await Fleet.start(count, dht)
    const joinMs = await waitFor(async () => (await fleet.peers()).every(n => n >= Math.min(5, count - 1)), 60000)
    const { hash } = await fleet.run<{ hash: string }>(1, { cmd: 'add', size: 16 * MIB, seed: count })
    const announceMs = await waitFor(async () => (await fleet.run<{ state: string }>(1, { cmd: 'state', hash })).state === 'announced', 60000)
    const got = await fleet.run<{ ms: number, firstMs: number, same: boolean }>(count, { cmd: 'fetch', hash, size: 16 * MIB, seed: count, strategy: 'split' })
    if (!got.same) throw new Error('fetched bytes differ')
    rows.push({ nodes: count, 'joined (ms)': Math.round(joinMs), 'announce (ms)': Math.round(announceMs), 'first provider (ms)': got.firstMs, '16 MiB verified (ms)': got.ms })
    if (count === 20) last = fleet
    else await fleet.stop()
  }
  printTable('DHT: a 16 MiB blob found by hash and fetched by the last node of a chain-bootstrapped fleet', rows)
  const fleet = last as Fleet
  try {
    const blobs = 1000
    await fleet.run(2, { cmd: 'addMany', count: blobs, size: 1024, seed: 1000 })
    let stats: AnnounceStats | undefined
    let shown = performance.now()
    const ms = await waitFor(async () => {
      stats = await fleet.run<AnnounceStats>(2, { cmd: 'stats' })
      if (performance.now() - shown > 10000) {
        shown = performance.now()
        process.stderr.write(`  announcing: ${JSON.stringify(stats)}\n`)
      }
      return stats.announced >= blobs
    }, 600000)
    printTable('DHT: announcing 1,000 blobs from one node of 20 (4 at a time)', [{ blobs, seconds: (ms / 1000).toFixed(1), 'records/s': (blobs / (ms / 1000)).toFixed(1), failed: stats?.failed ?? 0 }])
  } finally {
    await fleet.stop()
  }
}
