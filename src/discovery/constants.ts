/** verity's own DHT: its nodes find each other, not the IPFS Amino DHT's. */
export const VERITY_KAD_PROTOCOL = '/verity/kad/1.0.0'

/** The libp2p Kademlia spec's provider record lifetime. */
export const RECORD_VALIDITY_MS = 48 * 60 * 60 * 1000

export const DHT_DEFAULTS = {
  protocol: VERITY_KAD_PROTOCOL,
  announceConcurrency: 4,
  announceTimeoutMs: 60000,
  recordValidityMs: RECORD_VALIDITY_MS,
  scanIntervalMs: 5000,
  selfQueryIntervalMs: 300000,
  alpha: 3,
  lookupTimeoutMs: 30000,
  maxProviders: 20,
  maxProvidersPerPeer: 4,
  maxAddrsPerProvider: 8,
  maxRecords: 100000,
  maxRecordsPerPeer: 10000,
  bootstrapTimeoutMs: 10000
} as const
