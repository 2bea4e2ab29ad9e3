import type { Multiaddr } from '@multiformats/multiaddr'

/** Which blobs a node announces: every complete blob, those a tag keeps, or none. */
export type AnnouncePolicy = 'all' | 'tagged' | 'none'

/**
 * The Kademlia DHT on a node (`createNode({ dht })`, docs/discovery.md). Nothing is contacted but
 * the `bootstrap` peers given: no default list, no mDNS.
 */
export interface DhtInit {
  /**
   * The DHT's protocol id: verity nodes form their own DHT; another id joins another one (whose
   * peers must hold verity's provider records to be of use). @default '/verity/kad/1.0.0'
   */
  protocol?: string
  /**
   * `server` answers DHT queries and stores records (a node that listens and stays); `client` only
   * asks (a short-lived get). @default 'server' when the node listens on anything, else 'client'
   */
  mode?: 'server' | 'client'
  /** Peers to join through: multiaddrs ending in /p2p/<peer id>. @default [] */
  bootstrap?: string[]
  /** Which blobs to announce. @default 'all' in server mode, 'none' in client mode */
  announce?: AnnouncePolicy
  /** Announcements (DHT provide operations) at once. @default 4 */
  announceConcurrency?: number
  /** One announcement's deadline. @default 60000 */
  announceTimeoutMs?: number
  /**
   * How long a provider record lives on the peers holding it (this node drops others' records
   * older than this). @default 172800000 (48 h, the libp2p Kademlia spec's)
   */
  recordValidityMs?: number
  /** A blob is announced again once its last announcement is this old. @default recordValidityMs / 2 */
  reannounceMs?: number
  /**
   * How often the store is looked at for blobs to announce or stop announcing, and records
   * checked for expiry (only when the store changed, for the former). @default 5000
   */
  scanIntervalMs?: number
  /**
   * How often the node looks up its own id, which finds its DHT neighbours and tells them of it:
   * a fleet's routing tables converge at this pace after nodes join. @default 300000 (kad-dht's)
   */
  selfQueryIntervalMs?: number
  /** DHT peers asked at once in one query. @default 3 */
  alpha?: number
  /** A lookup's deadline when the caller gives none. @default 30000 */
  lookupTimeoutMs?: number
  /** Providers one lookup yields at most. @default 20 */
  maxProviders?: number
  /**
   * Providers one lookup takes from any one DHT peer's answers: a peer that lies (naming
   * providers that do not exist) cannot fill `maxProviders` and crowd out the real ones. @default 4
   */
  maxProvidersPerPeer?: number
  /** Addresses kept per provider found (the rest are dropped, not dialled). @default 8 */
  maxAddrsPerProvider?: number
  /**
   * Provider records of other peers a DHT server holds at most (about 150 bytes each); past it,
   * new ones are refused (ProviderRecordsFull). @default 100000
   */
  maxRecords?: number
  /** Provider records of one other peer held at most. @default 10000 */
  maxRecordsPerPeer?: number
  /** Dialling one bootstrap peer gives up after this long. @default 10000 */
  bootstrapTimeoutMs?: number
  /** Lookups and announcements, as they happen (the CLI's --json events, metrics). */
  onEvent?: (event: DiscoveryEvent) => void
}

/** A provider a lookup found: its peer id and the addresses its record gave (at most maxAddrsPerProvider). */
export interface FoundProvider {
  peerId: string
  addrs: Multiaddr[]
}

export interface FindProvidersOptions {
  signal?: AbortSignal
  /** @default DhtInit.lookupTimeoutMs */
  timeoutMs?: number
  /** @default DhtInit.maxProviders */
  maxProviders?: number
  /**
   * Run the lookup again (after a pause, 0.5 s doubling up to 5 s) until `maxProviders` or the
   * deadline, not only until a pass found someone: for feeding a Downloader, which then waits for
   * more when those found fail (a pass may have met only DHT peers that lie). End it with
   * `signal` once the download is over. @default false
   */
  keepLooking?: boolean
}

/** What discovery reports: lookups (started, a provider found, done) and announcements. */
export type DiscoveryEvent =
  | { type: 'lookup:start', hash: string }
  | { type: 'lookup:provider', hash: string, peerId: string, addrs: string[], ms: number }
  | { type: 'lookup:done', hash: string, providers: number, ms: number, error?: string }
  | { type: 'announce:done', hash: string, ms: number, again: boolean }
  | { type: 'announce:failed', hash: string, error: string }
  | { type: 'announce:stopped', hash: string }
  | { type: 'bootstrap:connected', peer: string }
  | { type: 'bootstrap:failed', peer: string, error: string }

/** What the announcer has done so far. */
export interface AnnounceStats {
  /** Blobs whose last announcement succeeded and which are still to be announced. */
  announced: number
  /** Blobs waiting for their (first or next) announcement. */
  pending: number
  /** Announcements that succeeded, that failed, and blobs no longer announced, since the start. */
  done: number
  failed: number
  stopped: number
}
