import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { serveRequests, type OutgoingResponse } from '../../../src/request/libp2p-server.js'
import type { SuiteServer } from './client-suite.js'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

/** A node on loopback TCP, for the request plane's libp2p tests. */
export async function loopbackNode (): Promise<VerityNode> {
  return await createNode({ listen: LOOPBACK })
}

/** The suite's routes (as test-server.ts answers them over HTTP) on /verity/request/1. */
export async function startLibp2pServer (): Promise<SuiteServer> {
  const node = await loopbackNode()
  let connections = 0
  node.libp2p.addEventListener('connection:open', () => { connections++ })
  await serveRequests(node.libp2p, async ({ path, payload }) => {
    const url = new URL(path, 'http://x')
    const n = Number(url.searchParams.get('n') ?? '0')
    const answers: Record<string, () => OutgoingResponse> = {
      '/echo': () => ({ status: 200, body: payload }),
      '/bytes': () => ({ status: 200, body: new Uint8Array(n).fill(7) }),
      '/fail': () => ({ status: 500, body: new TextEncoder().encode('nope') }),
      '/health': () => ({ status: 200 }),
      '/slow': () => ({ status: 200, body: slow(Number(url.searchParams.get('ms') ?? '0'), n) })
    }
    return answers[url.pathname]?.() ?? { status: 404 }
  })
  const addr = node.libp2p.getMultiaddrs()[0]?.toString() as string
  return {
    get connections () { return connections },
    address: path => `${addr}#${path}`,
    stop: async () => { await node.stop() }
  }
}

async function * slow (ms: number, n: number): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(1).fill(1)
  await new Promise(resolve => setTimeout(resolve, ms))
  yield new Uint8Array(Math.max(0, n - 1)).fill(1)
}
