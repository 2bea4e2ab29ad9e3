import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequestClient, schedulerSeeds, watchSchedulerSeeds } from '../../../src/request/index.js'
import type { RequestPlaneClient } from '../../../src/request/interface.js'

const PEER_A = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const PEER_B = '12D3KooWSUS5UrByXKvpG6vJyMNTHHBbbrKsSd5vkJRcs1ZfyzGo'

function seedPeer (peerId: string, addrs: string): unknown {
  return { ID: peerId, extra: { seed: 'true', peerId, addrs } }
}

async function until (check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/** A scheduler made by hand: `/api/v1/peers` answers `answer()` (a list, or 'hang': no answer ever). */
async function fakeScheduler (answer: () => unknown[] | 'hang'): Promise<{ url: string, server: Server }> {
  const server = createServer((_req, res) => {
    const peers = answer()
    if (peers === 'hang') return
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(peers))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

async function stop (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
}

describe('request SDK: what a scheduler says of its seeds is checked', function () {
  this.timeout(30000)

  it('a peer whose address is no multiaddr is left out; the other seeds are taken', async () => {
    const { url, server } = await fakeScheduler(() => [
      seedPeer(PEER_A, '/ip4/127.0.0.1/udp/4001/quic-v1'),
      seedPeer(PEER_B, '/ip4/10.0.0.2/tcp/not-a-port')
    ])
    // The list only: a transport that is never asked.
    const sdk = createRequestClient({ seeds: [], transport: { transportName: 'libp2p' } as unknown as RequestPlaneClient })
    const controller = new AbortController()
    try {
      // One bad entry made setSeeds throw on every poll: the ring never got a seed.
      await watchSchedulerSeeds(url, seeds => { sdk.setSeeds(seeds) }, { intervalMs: 50, signal: controller.signal })
      assert.deepEqual(sdk.ring.members(), [PEER_A])
      assert.deepEqual(await schedulerSeeds(url), [`/ip4/127.0.0.1/udp/4001/quic-v1/p2p/${PEER_A}`])
    } finally {
      controller.abort()
      await sdk.close()
      await stop(server)
    }
  })

  it('a scheduler that takes a request and never answers it does not stop the polling: the next list is taken', async () => {
    let calls = 0
    const { url, server } = await fakeScheduler(() => {
      calls++
      if (calls === 2) return 'hang'
      return calls === 1 ? [seedPeer(PEER_A, '/ip4/127.0.0.1/udp/4001/quic-v1')] : [seedPeer(PEER_A, '/ip4/127.0.0.1/udp/4001/quic-v1'), seedPeer(PEER_B, '/ip4/127.0.0.1/udp/4002/quic-v1')]
    })
    const lists: string[][] = []
    const controller = new AbortController()
    try {
      await watchSchedulerSeeds(url, seeds => { lists.push(seeds) }, { intervalMs: 50, timeoutMs: 200, signal: controller.signal })
      await until(() => lists.length === 2, 'the list after the hung request')
      assert.equal(lists[1]?.length, 2)
    } finally {
      controller.abort()
      await stop(server)
    }
  })
})
