import { createWriteStream } from 'node:fs'
import { createServer } from 'node:http'
import { createNode } from '../node/create-node.js'
import { createGateway } from '../http/gateway.js'
import { GatewayMetrics } from '../http/metrics.js'
import { serveSeedRequests } from '../request/task-server.js'
import type { SeedInit } from '../seed/interface.js'
import { normalPrefix } from '../seed/policy.js'
import { dataDir, flag, has, hostPort, interruptSignal, STUN_FLAG, Output, parseArgs, parseDuration, UsageError, type Parsed } from './common.js'
import { controlled } from './control.js'
import { ListenFailed, listening, parseListen, parseProviders } from './peers.js'
import { connectTo, sayFetches } from './serve-fetches.js'
import { RequestLog } from './request-log.js'
import { SEND_LISTEN } from './send.js'
import { ANNOUNCE_FLAG, DHT_FLAGS, dhtOf, discoveryEvents, sayDiscovery } from './dht-flags.js'
import { reachabilityFor, reachabilityOf, RELAY_FLAGS, RELAY_VIA_FLAG, sayReachability, waitForRelayed } from './relay-flags.js'

/** `host:port`; the host defaults to 127.0.0.1, so the gateway is local unless asked otherwise. */
export function httpAddress (text: string): { host: string, port: number } {
  return hostPort(text, 'http', '127.0.0.1')
}

/**
 * `--seed` makes the node a seed peer (/verity/task/1 and GET /tasks): for every peer, or with
 * `--seed-allow <peer id>` those listed; any http(s) URL at a public address, or with
 * `--origin-allow <prefix>` those under the prefixes given, which may be at any address (the
 * operator named them; docs/origins.md "Policy").
 */
function seedOf (parsed: Parsed): { seed?: SeedInit } {
  const peers = parsed.flags.get('seed-allow')
  const origins = parsed.flags.get('origin-allow')
  if (!has(parsed, 'seed')) {
    if (peers !== undefined || origins !== undefined) throw new UsageError('--seed-allow and --origin-allow go with --seed')
    return {}
  }
  try {
    origins?.forEach(normalPrefix)
  } catch (err) {
    throw new UsageError(`--origin-allow: ${(err as Error).message}`)
  }
  return { seed: { allow: peers === undefined ? 'all' : { peers }, ...(origins === undefined ? {} : { origins }) } }
}

/**
 * `verity serve`: the node (serving its store to peers) and an HTTP gateway, until interrupted.
 * Prints the gateway's URL on stdout.
 */
export async function serve (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, {
    http: { value: true },
    listen: { value: true, many: true },
    provider: { value: true, many: true },
    seed: {},
    'seed-allow': { value: true, many: true },
    'origin-allow': { value: true, many: true },
    'access-log': { value: true },
    timeout: { value: true },
    ...DHT_FLAGS,
    ...ANNOUNCE_FLAG,
    ...RELAY_FLAGS,
    ...RELAY_VIA_FLAG,
    ...STUN_FLAG
  })
  if (parsed.positionals.length > 0) throw new UsageError('serve takes no arguments')
  const timeout = flag(parsed, 'timeout')
  const connectTimeoutMs = timeout === undefined ? undefined : parseDuration(timeout, 'timeout')
  const { host, port } = httpAddress(flag(parsed, 'http') ?? '127.0.0.1:8080')
  const providers = parseProviders(parsed.flags.get('provider') ?? [])
  // A serve stays: a DHT server, announcing its store (all of it unless --announce says otherwise).
  const dht = dhtOf(parsed, 'server', false)
  // A --provider behind a relay is dialled there (and hole punched), as get does.
  const reachability = reachabilityOf(parsed) ?? reachabilityFor(providers, [])
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  const dir = dataDir(parsed)
  let stopControl = async (): Promise<void> => {}
  const metrics = new GatewayMetrics()
  const listen = parseListen(parsed.flags.get('listen')) ?? SEND_LISTEN
  // Each request said with -v, and a --json event either way.
  const requests = new RequestLog(out, out.verbose)
  const log = await accessLogTo(flag(parsed, 'access-log'), out)
  const node = await listening(listen, async () => await createNode({
    dataDir: dir,
    listen,
    ...(connectTimeoutMs === undefined ? {} : { pool: { connectTimeoutMs } }),
    onEvent: event => { metrics.onEvent(event); requests.onEvent(event) },
    ...seedOf(parsed),
    ...(dht === undefined ? {} : { dht: { ...dht, onEvent: discoveryEvents(sayDiscovery(out), metrics.onDiscovery) } }),
    ...(reachability === undefined ? {} : { reachability })
  }))
  metrics.watch(node)
  // What the gateway fetches on demand is said as get says it.
  const unobserve = providers.length === 0 ? () => {} : sayFetches(node, providers, out)
  const server = createServer(createGateway({ node, metrics, providers, accessLog: log.write }))
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES'
          ? new ListenFailed([`${host}:${port} (HTTP, ${err.code})`], `cannot serve HTTP on ${host}:${port} (${err.code}): give --http another [host:]port`)
          : err)
      })
      server.listen(port, host, () => { server.removeAllListeners('error'); resolve() })
    })
    stopControl = await controlled(dir, node, out)
    // A seed answers the request SDK's /tasks over libp2p too (peers reach it by peer id; --seed-allow applies).
    if (node.seed !== undefined) await serveSeedRequests(node)
    const address = server.address()
    const url = typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)
    out.say(`node ${node.peerId} on ${node.addrs().map(String).join(' ')}${node.seed === undefined ? '' : ' (a seed: /verity/task/1, /tasks?url= over HTTP and /verity/request/1)'}`)
    await waitForRelayed(node, reachability, interrupt.signal)
    sayReachability(node, reachability, out)
    const discovery = node.discovery
    if (discovery !== undefined) {
      const { protocol, mode, announce, bootstrap } = discovery.settings
      out.say(`DHT ${protocol} (${mode}), announcing ${announce === 'all' ? 'every complete blob' : announce === 'tagged' ? 'tagged blobs' : 'nothing'}, ` +
        (bootstrap.length === 0 ? 'no bootstrap peer (others join through this node)' : `joining through ${bootstrap.join(' ')}`))
    }
    out.event({ type: 'ready', url, peerId: node.peerId, addrs: node.addrs().map(String), ...(discovery === undefined ? {} : { dht: { protocol: discovery.settings.protocol, mode: discovery.settings.mode, announce: discovery.settings.announce } }) })
    out.result(url)
    connectTo(node, providers, out).catch((err: Error) => { out.warn(`could not connect to the providers: ${err.name}: ${err.message}`) })
    await interrupt.interrupted
    return 0
  } finally {
    unobserve()
    interrupt.dispose()
    await stopControl()
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
    await node.stop()
    await log.close()
  }
}

/**
 * Where the access log goes: appended to `file`, else stderr (not with --quiet). The file is
 * opened before the node starts, so a path that cannot be written fails the start.
 */
async function accessLogTo (file: string | undefined, out: Output): Promise<{ write: (line: string) => void, close: () => Promise<void> }> {
  if (file === undefined) return { write: line => { if (!out.quiet) out.io.stderr.write(line + '\n') }, close: async () => {} }
  const stream = createWriteStream(file, { flags: 'a' })
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => { stream.off('error', reject); resolve() })
    stream.once('error', reject)
  }).catch((err: NodeJS.ErrnoException) => { throw new Error(`--access-log ${file}: cannot open it for writing (${err.code ?? err.name})`) })
  stream.on('error', (err: Error) => { out.warn(`--access-log ${file}: ${err.message}; no more access lines are written there`) })
  return { write: line => { if (stream.writable) stream.write(line + '\n') }, close: async () => { await new Promise(resolve => stream.end(resolve)) } }
}
