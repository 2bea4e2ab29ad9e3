import type { Multiaddr } from '@multiformats/multiaddr'
import type { VerityNode } from '../../../src/node/create-node.js'

/**
 * `client`'s DHT lookup of `hash` as a Downloader's providers, noting each peer found in `found`;
 * `stop()` ends the lookup.
 */
export function foundProviders (client: VerityNode, hash: Uint8Array): { providers: AsyncGenerator<{ peerId: string, addrs: Multiaddr[] }>, found: string[], stop: () => void } {
  const found: string[] = []
  const lookup = new AbortController()
  const discovery = client.discovery
  if (discovery === undefined) throw new Error('the client has no DHT')
  const providers = (async function * () {
    for await (const provider of discovery.findProviders(hash, { signal: lookup.signal, keepLooking: true })) {
      found.push(provider.peerId)
      yield provider
    }
  })()
  return { providers, found, stop: () => { lookup.abort() } }
}

/** Waits until every node in `holders` has announced `hash`, at most `ms`. */
export async function announced (holders: VerityNode[], hash: Uint8Array, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!holders.every(h => h.discovery?.isAnnounced(hash) === true)) {
    if (Date.now() > deadline) throw new Error(`not every holder announced within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
