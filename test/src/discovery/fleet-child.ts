import { createInterface } from 'node:readline'
import { fromHex, toHex } from '../../../store/hash-text.js'
import type { DhtInit, DiscoveryEvent, FoundProvider } from '../../../src/discovery/interface.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import type { DownloadResult } from '../../../src/downloader/interface.js'
import { randomBytes } from '../../helpers.js'

/**
 * `count` DHT nodes in one process, on 127.0.0.1, bootstrapped in a chain: the first through
 * `bootstrap` (the previous process's last node, if any), each next one through the one before.
 * Driven by JSON line commands on stdin, one JSON answer per line on stdout.
 */
export interface FleetSpec { count: number, bootstrap?: string, dht: Omit<DhtInit, 'bootstrap' | 'onEvent'>, maxStripeBytes?: number }

export type FleetCommand =
  | { cmd: 'add', node: number, size: number, seed: number }
  | { cmd: 'state', node: number, hash: string }
  | { cmd: 'peers' }
  | { cmd: 'find', node: number, hash: string, timeoutMs: number }
  | { cmd: 'fetch', node: number, hash: string, size: number, seed: number, strategy: 'split' | 'none' }
  | { cmd: 'delete', node: number, hash: string }
  | { cmd: 'addMany', node: number, count: number, size: number, seed: number }
  | { cmd: 'stats', node: number }

const spec = JSON.parse(process.argv[2] as string) as FleetSpec
const nodes: VerityNode[] = []
/** Each node's lookups as they ended, to say why a fetch found nobody. */
const lookups: DiscoveryEvent[][] = []
const tcp = (node: VerityNode): string => node.addrs().map(String).find(a => a.includes('/tcp/')) as string
for (let i = 0; i < spec.count; i++) {
  lookups.push([])
  const before = i === 0 ? spec.bootstrap : tcp(nodes[i - 1] as VerityNode)
  nodes.push(await createNode({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    ...(spec.maxStripeBytes === undefined ? {} : { downloader: { maxStripeBytes: spec.maxStripeBytes, minStripeBytes: Math.min(1 << 20, spec.maxStripeBytes) } }),
    dht: { ...spec.dht, bootstrap: before === undefined ? [] : [before], onEvent: event => { if (event.type === 'lookup:done') lookups[i]?.push(event) } }
  }))
}
process.stdout.write(JSON.stringify({ peerIds: nodes.map(n => n.peerId), addrs: nodes.map(tcp) }) + '\n')

async function run (command: FleetCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'add': {
      const node = nodes[command.node] as VerityNode
      const { hash } = await node.blobs.addBytes(randomBytes(command.size, command.seed), { tag: 'held' })
      return { hash: toHex(hash) }
    }
    case 'state': return { state: (nodes[command.node] as VerityNode).discovery?.announceState(fromHex(command.hash)) ?? 'no' }
    case 'peers': return { peers: nodes.map(n => n.discovery?.peers() ?? 0) }
    case 'find': {
      const found: string[] = []
      for await (const provider of (nodes[command.node] as VerityNode).discovery!.findProviders(fromHex(command.hash), { timeoutMs: command.timeoutMs })) found.push(provider.peerId)
      return { found }
    }
    case 'fetch': {
      const node = nodes[command.node] as VerityNode
      const hash = fromHex(command.hash)
      const lookup = new AbortController()
      const started = Date.now()
      try {
        let firstMs: number | undefined
        const found = async function * (source: AsyncIterable<FoundProvider>): AsyncGenerator<FoundProvider> {
          for await (const provider of source) {
            firstMs ??= Date.now() - started
            yield provider
          }
        }
        let result: DownloadResult
        try {
          result = await node.downloader.download({ request: hash, providers: found(node.discovery!.findProviders(hash, { signal: lookup.signal })), strategy: command.strategy, timeoutMs: 60000 })
        } catch (err) {
          throw new Error(`${(err as Error).name}: ${(err as Error).message}; lookups: ${JSON.stringify(lookups[command.node]?.slice(-2))}`)
        }
        const same = Buffer.from(await node.blobs.getBytes(hash)).equals(Buffer.from(randomBytes(command.size, command.seed)))
        return { bytes: result.bytes, same, ms: Date.now() - started, firstMs, providers: Object.fromEntries(Object.entries(result.providers).map(([id, r]) => [id, r.bytes])) }
      } finally {
        lookup.abort()
      }
    }
    case 'delete': {
      const node = nodes[command.node] as VerityNode
      await node.blobs.tags.delete('held')
      await node.blobs.gc()
      return { status: (await node.blobs.status(fromHex(command.hash))).status }
    }
    case 'addMany': {
      const node = nodes[command.node] as VerityNode
      for (let i = 0; i < command.count; i++) await node.blobs.addBytes(randomBytes(command.size, command.seed + i))
      return {}
    }
    case 'stats': return (nodes[command.node] as VerityNode).discovery!.announceStats()
    default: {
      const unknown: never = command
      throw new Error(`unknown command ${JSON.stringify(unknown)}`)
    }
  }
}

// One command at a time, answered in order.
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stop') break
  try {
    process.stdout.write(JSON.stringify(await run(JSON.parse(line) as FleetCommand)) + '\n')
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: `${(err as Error).name}: ${(err as Error).message}` }) + '\n')
  }
}
await Promise.all(nodes.map(async node => { await node.stop() }))
process.exit(0)
