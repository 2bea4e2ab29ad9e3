import type { KadDHT } from '@libp2p/kad-dht'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { RAW_CODEC } from './cid.js'

/**
 * kad-dht's internals moved: the RPC handlers this module wraps are not where kad-dht 16.4.5 had
 * them. Read the new version's rpc/ sources before changing the pinned version (package.json).
 */
export class DhtInternalsChanged extends Error {
  static override name = 'DhtInternalsChanged'
  constructor (message: string) {
    super(message)
    this.name = 'DhtInternalsChanged'
  }
}

interface Message { type: string, key?: Uint8Array, closer?: unknown[], [field: string]: unknown }
interface Handler { handle: (peerId: unknown, msg: Message) => Promise<Message | undefined> }
interface Internals { rpc?: { handlers?: Record<string, Handler | undefined> } }

/**
 * Lets a kad-dht 16.4.5 server hold provider records keyed by any multihash, BLAKE3 ones
 * included. On the wire a provider key is a multihash (the Kademlia spec; go-libp2p takes any),
 * but kad-dht's ADD_PROVIDER and GET_PROVIDERS handlers read it with `CID.decode`, which takes a
 * bare multihash only when it is sha2-256 (the CIDv0 form) and refuses a BLAKE3 one ("Invalid
 * CID"), so no verity record could be stored or found. The wrappers, on this node's DHT only (no
 * prototype is touched), hand those handlers the key as a CIDv1 of the same multihash; kad-dht
 * keys its records by the multihash, so they are the records `provide` writes. GET_PROVIDERS's
 * closer peers are the FIND_NODE handler's for the key as sent (the original would measure
 * distance to the CID's bytes), and its answer names the key as sent. A key that is no multihash
 * goes to the original handler as it came, which refuses it as before.
 */
export function acceptMultihashKeys (dht: KadDHT): void {
  const handlers = (dht as unknown as Internals).rpc?.handlers
  const addProvider = handlers?.ADD_PROVIDER
  const getProviders = handlers?.GET_PROVIDERS
  const findNode = handlers?.FIND_NODE
  if (handlers === undefined || [addProvider, getProviders, findNode].some(h => typeof h?.handle !== 'function')) {
    throw new DhtInternalsChanged('kad-dht has no rpc.handlers with ADD_PROVIDER, GET_PROVIDERS and FIND_NODE (src/discovery/kad-keys.ts wraps them)')
  }
  const original = { add: (addProvider as Handler).handle.bind(addProvider), get: (getProviders as Handler).handle.bind(getProviders), find: (findNode as Handler).handle.bind(findNode) }
  handlers.ADD_PROVIDER = {
    handle: async (peerId, msg) => await original.add(peerId, asCidKey(msg))
  }
  handlers.GET_PROVIDERS = {
    handle: async (peerId, msg) => {
      const keyed = asCidKey(msg)
      if (keyed === msg || msg.key === undefined) return await original.get(peerId, msg)
      const [answer, near] = await Promise.all([original.get(peerId, keyed), original.find(peerId, { ...msg, type: 'FIND_NODE' })])
      if (answer === undefined) return answer
      return { ...answer, key: msg.key, closer: near?.closer ?? [] }
    }
  }
}

/** The message with its key as a CIDv1 (raw) of the multihash it is, or the message as it came. */
function asCidKey (msg: Message): Message {
  const key = msg.key
  if (key === undefined || key.length === 0) return msg
  try {
    CID.decode(key)
    return msg // kad-dht reads it already (a sha2-256 multihash, or a whole CID)
  } catch {}
  let digest: ReturnType<typeof Digest.decode>
  try {
    digest = Digest.decode(key)
  } catch {
    return msg
  }
  return { ...msg, key: CID.createV1(RAW_CODEC, digest).bytes }
}
