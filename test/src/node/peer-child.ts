/**
 * A verity node in its own process, for the two-process tests and the benchmark. Argument: a JSON
 * PeerSpec. It adds the blobs asked for, prints one JSON line (peer id, addresses, hashes), then
 * answers commands on stdin, one per line, each with one JSON line:
 *   rss                 -> { rss, heapUsed, peak } (after a GC; peak resident set from /proc)
 *   fetch <ticket|addr> <hex> [fs|mem] -> { ok, stats | error }
 *   stop                -> exits
 */
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { createNode } from '../../../src/node/create-node.js'
import { CHUNK_SIZE, GROUP_SIZE } from '../../../store/bao/constants.js'
import { MemStore } from '../../../store/mem-store.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { fromHex, toHex } from '../../../store/hash-text.js'
import { randomBytes } from '../../helpers.js'
import { corrupting } from './corrupting-store.js'

export interface PeerSpec {
  dataDir?: string
  /** Blobs to add: sizes, filled with seeded random bytes (seed = index + 1). */
  sizes?: number[]
  /** A collection of this many small files, also listed one by one. */
  collection?: number
  /** Milliseconds to wait before each piece (256 KiB) of a response: a slow provider. */
  sendDelayMs?: number
  /** Peer ids allowed to push. */
  pushFrom?: string[]
  /** Serve every response with one data byte flipped: a lying provider. */
  corrupt?: boolean
  /** Hold only the first half (in whole 16 KiB groups) of each blob. */
  half?: boolean
}

export interface PeerReady {
  peerId: string
  addrs: string[]
  blobs: string[]
  collection?: string
  files: string[]
}

const spec = JSON.parse(process.argv[2] ?? '{}') as PeerSpec
const delay = spec.sendDelayMs
const node = await createNode({
  ...(spec.dataDir === undefined ? {} : { dataDir: spec.dataDir }),
  ...(spec.corrupt === true ? { store: corrupting(new MemStore()) } : {}),
  provide: {
    ...(spec.pushFrom === undefined ? {} : { push: { peers: spec.pushFrom } }),
    ...(delay === undefined ? {} : { throttleSend: async () => { await new Promise(resolve => setTimeout(resolve, delay)) } })
  }
})
const blobs: string[] = []
for (const [i, size] of (spec.sizes ?? []).entries()) {
  const data = randomBytes(size, i + 1)
  if (spec.half === true) {
    const full = new MemStore()
    const { hash } = await full.addBytes(data)
    const half = ChunkRanges.to(Math.floor(size / 2 / GROUP_SIZE) * (GROUP_SIZE / CHUNK_SIZE))
    await node.blobs.importBao(hash, half, full.exportBao(hash, half))
    blobs.push(toHex(hash))
  } else {
    blobs.push(toHex((await node.blobs.addBytes(data)).hash))
  }
}
const files: string[] = []
let collection: string | undefined
if (spec.collection !== undefined) {
  const entries = []
  for (let i = 0; i < spec.collection; i++) {
    const { hash } = await node.blobs.addBytes(randomBytes(1000 + i * 700, 1000 + i))
    entries.push({ name: `dir/file-${i}.bin`, hash })
    files.push(toHex(hash))
  }
  collection = toHex((await node.blobs.addCollection(entries)).hash)
}
const ready: PeerReady = { peerId: node.peerId, addrs: node.addrs().map(String), blobs, files, ...(collection === undefined ? {} : { collection }) }
process.stdout.write(JSON.stringify(ready) + '\n')

for await (const line of createInterface({ input: process.stdin })) {
  const [command, ...args] = line.trim().split(/\s+/)
  try {
    if (command === 'rss') {
      // Started with --expose-gc by the tests: measure what is live, not garbage not yet collected.
      (globalThis as { gc?: () => void }).gc?.()
      const status = readFileSync('/proc/self/status', 'utf8')
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
      process.stdout.write(JSON.stringify({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, peak: kb * 1024 }) + '\n')
    } else if (command === 'fetch') {
      const stats = await node.remote.fetch(args[0] as string, fromHex(args[1] as string))
      process.stdout.write(JSON.stringify({ ok: true, stats }) + '\n')
    } else if (command === 'stop') {
      break
    } else {
      process.stdout.write(JSON.stringify({ ok: false, error: `unknown command ${String(command)}` }) + '\n')
    }
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: `${(err as Error).name}: ${(err as Error).message}` }) + '\n')
  }
}
await node.stop()
process.exit(0)
