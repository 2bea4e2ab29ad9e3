import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { SchedulerClient } from '../src/scheduler/client.js'
import { measureCalls as measure, printTable, type Row } from './measure.js'
import { startServer, writeRandom } from './origin.js'

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js')
const MIB = 1 << 20
const LOCAL = ['--listen', '/ip4/127.0.0.1/tcp/0']

/** A `verity` process left running, and the first line it printed (its URL, or with --json its ready event). */
async function started (args: string[]): Promise<{ child: ChildProcess, line: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const first = await createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]().next()
  return { child, line: first.value as string }
}


/**
 * The scheduler (`verity scheduler`, its own process, LevelDB on disk) with 1,000 registered peers
 * and 100 tasks of 256 pieces (each task held whole by one peer, 10 peers fetching it, each having
 * reported 16 pieces): GET /peer/task and piece success reports, `calls` each, 8 at a time.
 */
async function apiBench (calls = 2000, concurrency = 8): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-scheduler-'))
  const { child, line } = await started(['scheduler', '--http', '127.0.0.1:0', '--data-dir', dir, '-q'])
  try {
    const api = new SchedulerClient(line)
    const pieceSize = 15 * MIB
    const fileLength = 256 * pieceSize
    const hash = 'ab'.repeat(32)
    const peers: string[] = []
    for (let p = 0; p < 1000; p++) peers.push((await api.call('POST', '/api/v1/peers', { IP: `10.${p >> 8}.${p & 255}.1`, hostName: `peer${p}`, port: 15000 + p })).ID)
    const tasks: string[] = []
    for (let t = 0; t < 100; t++) tasks.push((await api.call('POST', '/api/v1/tasks', { rawURL: `http://origin.example/file-${t}`, fileLength, hash, peerID: peers[t], cID: `c${t}` })).ID)
    const range = (piece: number): string => `${piece * pieceSize}-${(piece + 1) * pieceSize - 1}`
    // Peers 100..999 fetch task p % 100; each has 16 pieces already.
    await measure(900, concurrency, async i => {
      const p = 100 + i
      await api.call('POST', '/api/v1/tasks', { rawURL: `http://origin.example/file-${p % 100}`, peerID: peers[p], cID: `c${p}` })
      for (let k = 0; k < 16; k++) await api.call('PUT', `/api/v1/tasks/${tasks[p % 100] as string}/pieces/${range((p * 7 + k * 16) % 256)}`, { clientID: `c${p}`, dstPID: peers[p % 100] })
    })
    const peerTask = await measure(calls, concurrency, async i => {
      const p = 100 + ((i * 37) % 900)
      await api.call('GET', `/peer/task?taskId=${tasks[p % 100] as string}&srcCid=c${p}`)
    })
    const reports = await measure(calls, concurrency, async i => {
      const p = 100 + ((i * 53) % 900)
      await api.call('PUT', `/api/v1/tasks/${tasks[p % 100] as string}/pieces/${range((i * 11) % 256)}`, { clientID: `c${p}`, dstPID: peers[p % 100], pieceStatus: 'SUCCESS' })
    })
    const rows: Row[] = [
      { call: 'GET /peer/task (4 pieces handed out)', 'req/s': peerTask.perSecond, 'p50 ms': peerTask.p50, 'p99 ms': peerTask.p99 },
      { call: 'PUT /api/v1/tasks/{id}/pieces/{range} (success)', 'req/s': reports.perSecond, 'p50 ms': reports.p50, 'p99 ms': reports.p99 }
    ]
    printTable(`Scheduler API: 1,000 peers, 100 tasks of 256 pieces, ${calls} calls each, ${concurrency} at a time (scheduler in its own process)`, rows)
  } finally {
    child.kill('SIGINT')
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * `clients` processes fetching one URL at once with `verity get --scheduler` (an origin, a seed and
 * the scheduler in processes of their own): the bytes the seed sent (its /metrics) against what
 * the clients received, the rest having come from one another.
 */
async function fleetBench (counts = [2, 4, 8], size = 32 * MIB): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-fleet-'))
  const file = join(dir, 'origin.bin')
  writeRandom(file, size)
  const origin = await startServer(file)
  const rows: Row[] = []
  try {
    for (const clients of counts) {
      // Its access log (the bench's GET /metrics) to a file: on stderr it fell between the tables.
      const seed = await started(['serve', '--seed', '--origin-allow', `http://127.0.0.1:${origin.port}/`, '--http', '127.0.0.1:0', '--access-log', join(dir, `seed-${clients}-access.log`), '--json', '--data-dir', join(dir, `seed-${clients}`), ...LOCAL])
      const ready = JSON.parse(seed.line) as { url: string, addrs: string[] }
      const scheduler = await started(['scheduler', '--seed', ready.addrs[0] as string, '--http', '127.0.0.1:0', '--data-dir', join(dir, `scheduler-${clients}`), '-q', ...LOCAL])
      try {
        const t = performance.now()
        await Promise.all(Array.from({ length: clients }, async (_, i) => {
          const child = spawn(process.execPath, [cli, 'get', `http://127.0.0.1:${origin.port}/file`, '--scheduler', scheduler.line, '-o', join(dir, `out-${clients}-${i}`), '--linger', '2s', '-q', '--data-dir', join(dir, `client-${clients}-${i}`), ...LOCAL], { stdio: 'ignore' })
          const code = await new Promise(resolve => child.once('close', resolve))
          if (code !== 0) throw new Error(`client ${i} of ${clients} exited ${String(code)}`)
        }))
        const seconds = (performance.now() - t) / 1000
        const metrics = await (await fetch(`${ready.url}/metrics`)).text()
        const seedBytes = Number(/^verity_peer_bytes_sent_total (\d+)/m.exec(metrics)?.[1] ?? 'NaN')
        const received = clients * size
        rows.push({ clients: String(clients), 'MiB received': received / MIB, 'MiB from seed': seedBytes / MIB, 'MiB from peers': Math.max(0, received - seedBytes) / MIB, 'seed share %': 100 * seedBytes / received, 'wall s (2 s linger)': seconds })
      } finally {
        scheduler.child.kill('SIGINT')
        seed.child.kill('SIGINT')
      }
    }
    printTable(`verity get --scheduler: ${size / MIB} MiB, N clients at once (seed, scheduler, origin, each client in its own process)`, rows)
  } finally {
    origin.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `npm run bench -- scheduler`. */
export async function schedulerBench (): Promise<void> {
  await apiBench()
  await fleetBench()
}
