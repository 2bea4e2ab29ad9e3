import type { AnnouncePolicy, DhtInit, DiscoveryEvent } from '../discovery/interface.js'
import { flag, has, UsageError, type FlagSpec, type Output, type Parsed } from './common.js'
import { parseProviders } from './peers.js'

/** `--dht` and what goes with it, on get, send and serve. */
export const DHT_FLAGS: Record<string, FlagSpec> = {
  dht: {},
  bootstrap: { value: true, many: true },
  'dht-protocol': { value: true }
}

/** serve's: which blobs it announces. */
export const ANNOUNCE_FLAG: Record<string, FlagSpec> = { announce: { value: true } }

/**
 * The DHT settings the command line asks for, or undefined without --dht. Bootstrap peers come
 * from --bootstrap (repeatable), else VERITY_BOOTSTRAP (separated by commas or spaces): multiaddrs
 * ending in /p2p/<peer id>. `needPeers`: a get has nobody to ask without one (a usage error);
 * a serve or send may be the first node of a fleet.
 */
export function dhtOf (parsed: Parsed, mode: 'server' | 'client', needPeers: boolean, env: NodeJS.ProcessEnv = process.env): DhtInit | undefined {
  const given = parsed.flags.get('bootstrap')
  const protocol = flag(parsed, 'dht-protocol')
  const announce = flag(parsed, 'announce')
  if (!has(parsed, 'dht')) {
    if (given !== undefined || protocol !== undefined || announce !== undefined) throw new UsageError('--bootstrap, --dht-protocol and --announce go with --dht')
    return undefined
  }
  const fromEnv = (env.VERITY_BOOTSTRAP ?? '').split(/[\s,]+/).filter(text => text !== '')
  const bootstrap = given ?? fromEnv
  for (const [i, addr] of bootstrap.entries()) {
    if (!addr.startsWith('/')) throw new UsageError(`${given === undefined ? 'VERITY_BOOTSTRAP' : '--bootstrap'} takes multiaddrs ending in /p2p/<peer id>, not ${addr.slice(0, 40)}`)
    parseProviders([addr], given === undefined ? `bootstrap (VERITY_BOOTSTRAP entry ${i + 1})` : 'bootstrap')
  }
  if (needPeers && bootstrap.length === 0) {
    throw new UsageError('--dht needs a peer to join through: --bootstrap <multiaddr ending in /p2p/<peer id>> (repeatable), or VERITY_BOOTSTRAP')
  }
  if (protocol !== undefined && !/^\/\S+$/.test(protocol)) throw new UsageError(`--dht-protocol takes a protocol id such as /verity/kad/1.0.0, not ${protocol}`)
  if (announce !== undefined && !['all', 'tagged', 'none'].includes(announce)) throw new UsageError(`--announce takes all, tagged or none, not ${announce}`)
  return {
    mode,
    bootstrap,
    ...(protocol === undefined ? {} : { protocol }),
    ...(announce === undefined ? {} : { announce: announce as AnnouncePolicy })
  }
}

/**
 * What discovery says: every event as NDJSON with --json; lookups and failures as lines for
 * people (announcements only with -v: a store of thousands would flood the terminal).
 */
export function sayDiscovery (out: Output): (event: DiscoveryEvent) => void {
  return event => {
    out.event({ ...event })
    switch (event.type) {
      case 'lookup:start': out.say(`looking up ${event.hash.slice(0, 12)} in the DHT...`); break
      case 'lookup:provider': out.say(`found provider ${event.peerId} (${event.addrs.join(', ') || 'no addresses'}) after ${event.ms} ms`); break
      case 'lookup:done': if (event.providers === 0) out.say(`the DHT lookup found no provider${event.error === undefined ? '' : ` (${event.error})`}`); break
      case 'bootstrap:failed': out.warn(`bootstrap peer ${event.peer}: ${event.error}`); break
      case 'bootstrap:connected': if (out.verbose) out.say(`connected to bootstrap peer ${event.peer}`); break
      case 'announce:done': if (out.verbose) out.say(`announced ${event.hash.slice(0, 12)}${event.again ? ' again' : ''} (${event.ms} ms)`); break
      case 'announce:failed': if (out.verbose) out.say(`announcing ${event.hash.slice(0, 12)} failed: ${event.error}; tried again later`); break
      case 'announce:stopped': if (out.verbose) out.say(`no longer announcing ${event.hash.slice(0, 12)}`); break
      default: {
        const unknown: never = event
        throw new TypeError(`unknown discovery event ${JSON.stringify(unknown)}`)
      }
    }
  }
}

/** One listener for several: each sees every event. */
export function discoveryEvents (...listeners: Array<(event: DiscoveryEvent) => void>): (event: DiscoveryEvent) => void {
  return event => { for (const listener of listeners) listener(event) }
}
