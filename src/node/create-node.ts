import './polyfill.js'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { FsStore } from '../../store/fs-store.js'
import type { BlobStore } from '../../store/interface.js'
import { MemStore } from '../../store/mem-store.js'
import { loadOrCreateIdentity } from './identity.js'

/** Loopback QUIC-v1 (UDP) first, TCP (noise + yamux) as the fallback. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/udp/0/quic-v1', '/ip4/127.0.0.1/tcp/0']

export interface NodeOptions {
  /** Directory for the FsStore (`store/`) and the identity (`identity.key`). */
  dataDir?: string
  /** A store to use instead; without it and without a dataDir, a MemStore. */
  store?: BlobStore
  /** Multiaddrs to listen on. @default DEFAULT_LISTEN */
  listen?: string[]
  /** The node's key; without it, the one in dataDir (made on first use), else a fresh one. */
  privateKey?: PrivateKey
}

export interface VerityNode {
  readonly libp2p: Libp2p
  readonly blobs: BlobStore
  readonly peerId: string
  /** Addresses others can dial, each ending in /p2p/<peer id>. */
  addrs: () => Multiaddr[]
  stop: () => Promise<void>
}

/**
 * A libp2p node with QUIC and TCP and a blob store. It dials only what it is given: no
 * bootstrap peers, mDNS, UPnP, relays or DHT. The blobs protocol service is added by the node
 * issue's provider work.
 */
export async function createNode (options: NodeOptions = {}): Promise<VerityNode> {
  const privateKey = options.privateKey ?? (options.dataDir === undefined ? undefined : await loadOrCreateIdentity(options.dataDir))
  const ownStore = options.store === undefined
  const blobs = options.store ?? (options.dataDir === undefined ? new MemStore() : await FsStore.open(join(options.dataDir, 'store')))
  try {
    const libp2p = await createLibp2p({
      ...(privateKey === undefined ? {} : { privateKey }),
      addresses: { listen: options.listen ?? DEFAULT_LISTEN },
      transports: [quic(), tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()]
    })
    return {
      libp2p,
      blobs,
      peerId: libp2p.peerId.toString(),
      addrs: () => libp2p.getMultiaddrs(),
      stop: async () => {
        await libp2p.stop()
        if (ownStore) await blobs.close()
      }
    }
  } catch (err) {
    if (ownStore) await blobs.close()
    throw err
  }
}
