import { toHex } from '../../store/hash-text.js'
import { DownloadFailed } from '../downloader/errors.js'
import type { DownloadRequest } from '../downloader/interface.js'
import type { PeerTarget } from '../net/peer.js'
import type { VerityNode } from '../node/create-node.js'
import type { Output } from './common.js'
import { FetchReport, peersOf, whereOf, type PeerLine } from './fetch-report.js'
import { detailOf, troubleOf, troubleWords } from './fetch-words.js'

/**
 * What `verity serve --provider` says of the fetches its gateway makes on demand, in the lines
 * `get` says (fetch-report.ts): "connecting to <peer> (<addrs>)..." when a request goes to a
 * provider this node has no connection to, each provider's failure and whether it is asked again,
 * and a fetch that failed (its HTTP answer a 502). Returns how to stop.
 */
export function sayFetches (node: VerityNode, providers: PeerTarget[], out: Output): () => void {
  const report = new FetchReport(out)
  const known = new Map(peersOf(providers).map(peer => [peer.id, peer]))
  // Said "connecting to" and not yet connected or failed: one line per attempt, not per request.
  const connecting = new Set<string>()
  return node.downloader.observe((item, request) => {
    switch (item.type) {
      case 'download:try-provider': {
        const id = item.detail.provider
        if (connecting.has(id) || isConnected(node, id)) return
        connecting.add(id)
        report.connecting(known.get(id) ?? { id, addrs: [] })
        return
      }
      case 'download:part-complete':
        connecting.delete(item.detail.provider)
        return
      case 'download:provider-failed':
        connecting.delete(item.detail.provider)
        report.failed(item.detail)
        return
      case 'download:error': {
        const { error } = item.detail
        // An HTTP client that went away ended its fetch: nothing failed.
        if (error.name === 'Aborted') return
        const why = error instanceof DownloadFailed ? 'no provider delivered it (the lines above say why)' : `${error.name}: ${error.message}`
        out.say(`could not fetch ${describe(request)} for the gateway: ${why}`)
        if (out.verbose) out.say(`detail: ${detailOf(error)}`)
        out.event({ type: 'fetchFailed', what: describe(request), error: detailOf(error) })
        return
      }
      case 'download:progress':
        return
      default: {
        const never: never = item
        throw new TypeError(`unknown download item ${JSON.stringify(never)}`)
      }
    }
  })
}

/**
 * The providers on-demand fetches ask, connected to at the start so that one that cannot be
 * reached is said now, not at the first request: "connecting to", then connected or why not.
 */
export async function connectTo (node: VerityNode, providers: PeerTarget[], out: Output): Promise<void> {
  const report = new FetchReport(out)
  await Promise.all(peersOf(providers).map(async (peer: PeerLine) => {
    report.connecting(peer)
    const { failed } = await node.pool.warmup([peer.addrs.length === 0 ? peer.id : { peerId: peer.id, addrs: peer.addrs }])
    const error = failed[0]?.error
    if (error === undefined) {
      out.say(`connected to ${peer.id}`)
    } else {
      out.say(`could not connect to ${peer.id} at ${whereOf(peer)}: ${troubleWords(troubleOf(error, 'error'))}; it is tried again when a request needs it`)
      if (out.verbose) out.say(`${peer.id}: detail: ${detailOf(error)}`)
    }
    out.event({ type: error === undefined ? 'connected' : 'connectFailed', peer: peer.id, ...(error === undefined ? {} : { error: detailOf(error) }) })
  }))
}

/** Whether this node holds an open connection to the peer `id`. */
function isConnected (node: VerityNode, id: string): boolean {
  return node.libp2p.getConnections().some(connection => connection.remotePeer.toString() === id && connection.status === 'open')
}

/** What a download asked for, as a line names it: its hash (the first of a batch, and how many). */
function describe (request: DownloadRequest): string {
  if (request instanceof Uint8Array) return toHex(request)
  if ('type' in request && request.type === 'getMany') return `${request.hashes.length} blobs (${request.hashes[0] === undefined ? '' : toHex(request.hashes[0])}...)`
  return toHex((request as { hash: Uint8Array }).hash)
}
