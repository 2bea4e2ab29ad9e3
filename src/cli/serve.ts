import { createServer } from 'node:http'
import { createNode } from '../node/create-node.js'
import { gatewayHandler } from '../http/gateway.js'
import { GatewayMetrics } from '../http/metrics.js'
import { dataDir, flag, interruptSignal, Output, parseArgs, parseProviders, UsageError } from './common.js'
import { controlled } from './control.js'
import { SEND_LISTEN } from './send.js'

/** `host:port`; the host defaults to 127.0.0.1, so the gateway is local unless asked otherwise. */
function httpAddress (text: string): { host: string, port: number } {
  const match = /^(?:(.*):)?(\d+)$/.exec(text)
  if (match === null || Number(match[2]) > 65535) throw new UsageError(`--http takes [host:]port, not ${text}`)
  return { host: match[1] ?? '127.0.0.1', port: Number(match[2]) }
}

/**
 * `verity serve`: the node (serving its store to peers) and an HTTP gateway, until interrupted.
 * Prints the gateway's URL on stdout.
 */
export async function serve (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, { http: { value: true }, listen: { value: true, many: true }, provider: { value: true, many: true } })
  if (parsed.positionals.length > 0) throw new UsageError('verity serve takes no arguments')
  const { host, port } = httpAddress(flag(parsed, 'http') ?? '127.0.0.1:8080')
  const providers = parseProviders(parsed.flags.get('provider') ?? [])
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  const dir = dataDir(parsed)
  let stopControl = async (): Promise<void> => {}
  const metrics = new GatewayMetrics()
  const node = await createNode({ dataDir: dir, listen: parsed.flags.get('listen') ?? SEND_LISTEN, onEvent: metrics.onEvent })
  metrics.watch(node)
  const server = createServer(gatewayHandler(node, metrics, providers))
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    stopControl = await controlled(dir, node, out)
    const address = server.address()
    const url = typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)
    out.say(`node ${node.peerId} on ${node.addrs().map(String).join(' ')}`)
    out.event({ type: 'ready', url, peerId: node.peerId, addrs: node.addrs().map(String) })
    out.result(url)
    await interrupt.interrupted
    return 0
  } finally {
    interrupt.dispose()
    await stopControl()
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
    await node.stop()
  }
}
