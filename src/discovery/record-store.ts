import type { AbortOptions } from '@libp2p/interface'
import { MemoryDatastore } from 'datastore-core/memory'
import type { Key } from 'interface-datastore'

/** A DHT server refused a provider record: it holds as many as it takes (in all, or of that peer). */
export class ProviderRecordsFull extends Error {
  static override name = 'ProviderRecordsFull'
  constructor (message: string) {
    super(message)
    this.name = 'ProviderRecordsFull'
  }
}

export interface RecordLimits {
  /** Provider records of other peers held at most. */
  maxRecords: number
  /** Provider records of one other peer held at most. */
  maxRecordsPerPeer: number
}

/** Where kad-dht (datastorePrefix '/dht') keeps provider records: /dht/provider/<key>/<peer id>. */
const PROVIDER_PREFIX = '/dht/provider/'

/**
 * libp2p's in-memory datastore with a cap on the provider records other peers may make this node
 * keep: kad-dht stores every ADD_PROVIDER it is sent, with no limit, so a peer announcing keys
 * without end grew this node's memory without end. Past `maxRecords` (or `maxRecordsPerPeer` of
 * one peer) a new record is refused with ProviderRecordsFull (kad-dht resets that peer's stream);
 * renewing a record held, and this node's own records, are always taken. Records leave when
 * kad-dht drops them as expired, which frees their room.
 */
export class BoundedDatastore extends MemoryDatastore {
  private records = 0
  private readonly perPeer = new Map<string, number>()
  /** This node's peer id, once known (libp2p makes it). */
  self: string | undefined

  constructor (private readonly limits: RecordLimits) {
    super()
  }

  /** Other peers' provider records held now. */
  get providerRecords (): number {
    return this.records
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    const peer = this.otherPeerOf(key)
    if (peer !== undefined && !await super.has(key, options)) {
      const held = this.perPeer.get(peer) ?? 0
      if (this.records >= this.limits.maxRecords) throw new ProviderRecordsFull(`this node holds ${this.records} provider records of other peers, its most (dht.maxRecords)`)
      if (held >= this.limits.maxRecordsPerPeer) throw new ProviderRecordsFull(`this node holds ${held} provider records of ${peer}, the most of one peer (dht.maxRecordsPerPeer)`)
      this.records++
      this.perPeer.set(peer, held + 1)
    }
    return await super.put(key, value, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    const peer = this.otherPeerOf(key)
    if (peer !== undefined && await super.has(key, options)) {
      this.records--
      const held = (this.perPeer.get(peer) ?? 1) - 1
      if (held === 0) this.perPeer.delete(peer)
      else this.perPeer.set(peer, held)
    }
    await super.delete(key, options)
  }

  /** The peer a provider record names, unless it is this node (or the key is no provider record). */
  private otherPeerOf (key: Key): string | undefined {
    const text = key.toString()
    if (!text.startsWith(PROVIDER_PREFIX)) return undefined
    const peer = text.slice(text.lastIndexOf('/') + 1)
    return peer === this.self ? undefined : peer
  }
}
