import type { KadDHT, KadDHTComponents, KadDHTInit } from '@libp2p/kad-dht'
import type { DhtInit } from './interface.js'
import { DHT_DEFAULTS } from './constants.js'

/** The DHT's settings, each set: `init` over DHT_DEFAULTS, the mode and policy from whether the node listens. */
export type DhtSettings = Required<Omit<DhtInit, 'onEvent'>> & Pick<DhtInit, 'onEvent'>

export function dhtSettings (init: DhtInit, listens: boolean): DhtSettings {
  const mode = init.mode ?? (listens ? 'server' : 'client')
  if (mode !== 'server' && mode !== 'client') throw new TypeError(`dht.mode must be 'server' or 'client', got ${String(mode)}`)
  const settings = {
    ...DHT_DEFAULTS,
    bootstrap: [],
    announce: mode === 'server' ? 'all' as const : 'none' as const,
    ...stripUndefined(init),
    mode
  }
  for (const name of ['announceConcurrency', 'announceTimeoutMs', 'recordValidityMs', 'scanIntervalMs', 'selfQueryIntervalMs', 'alpha', 'lookupTimeoutMs', 'maxProviders', 'maxProvidersPerPeer', 'maxAddrsPerProvider', 'maxRecords', 'maxRecordsPerPeer', 'bootstrapTimeoutMs'] as const) {
    const value = settings[name]
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`dht.${name} must be a positive number, got ${String(value)}`)
  }
  if (!['all', 'tagged', 'none'].includes(settings.announce)) throw new TypeError(`dht.announce must be 'all', 'tagged' or 'none', got ${String(settings.announce)}`)
  if (typeof settings.protocol !== 'string' || !settings.protocol.startsWith('/')) throw new TypeError(`dht.protocol must be a protocol id starting with /, got ${String(settings.protocol)}`)
  return { reannounceMs: settings.recordValidityMs / 2, ...settings }
}

function stripUndefined<T extends object> (value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

/**
 * libp2p's kad-dht as verity runs it: its own protocol id, the mode given (no switching on
 * guessed reachability), every address kept (a LAN or loopback fleet is a real one; the Amino
 * DHT's default drops private addresses), queries `alpha` peers wide, and records of others
 * dropped once `recordValidityMs` old. Re-announcing this node's
 * own blobs is the Announcer's (announcer.ts), so kad-dht's reprovider is left only expired records.
 * kad-dht is loaded here, for a node that has a DHT, not with this module (see holePunchTransport).
 */
export async function dhtService (settings: DhtSettings): Promise<(components: KadDHTComponents) => KadDHT> {
  const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
  const init: KadDHTInit = {
    protocol: settings.protocol,
    clientMode: settings.mode === 'client',
    peerInfoMapper: passthroughMapper,
    alpha: settings.alpha,
    querySelfInterval: settings.selfQueryIntervalMs,
    logPrefix: 'verity:kad-dht',
    reprovide: {
      validity: settings.recordValidityMs,
      // Only records already expired: the Announcer re-announces live ones well before that.
      threshold: 0,
      // Expired records are looked for four times per lifetime, at least hourly (kad-dht's own rate).
      interval: Math.min(settings.recordValidityMs / 4, 3_600_000),
      concurrency: settings.announceConcurrency
    }
  }
  return kadDHT(init)
}
