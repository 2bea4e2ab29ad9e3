import { Permission } from '../../protocol/errors.js'
import type { SeedAccess } from './interface.js'

/**
 * Whether `peer` may have this seed fetch `url`: the URL must start with one of `origins` (as
 * WHATWG writes both; by default any http: or https: URL, so no peer reads the seed's files
 * through file: or a plugin's scheme), and the peer must pass `allow`. Permission says which
 * check refused; the URL in it is the one shown (`shown`).
 */
export async function checkAllowed (allow: SeedAccess, origins: readonly string[] | undefined, peer: string, url: URL, shown: string): Promise<void> {
  if (origins === undefined) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Permission(`this seed fetches http: and https: URLs only, not ${url.protocol} (${shown})`)
  } else if (!origins.some(prefix => url.href.startsWith(normalPrefix(prefix)))) {
    throw new Permission(`this seed does not fetch from that origin: ${shown}`)
  }
  if (allow === 'all') return
  const allowed = typeof allow === 'function' ? await allow(peer, url) : allow.peers.includes(peer)
  if (!allowed) throw new Permission(`peer ${peer} may not ask this seed to fetch URLs`)
}

/** A URL prefix as WHATWG writes it (`HTTPS://Example.com` is `https://example.com/`); TypeError when it is no URL. */
export function normalPrefix (prefix: string): string {
  try {
    return new URL(prefix).href
  } catch {
    throw new TypeError(`an origin prefix must be an absolute URL such as https://example.com/, got ${prefix.slice(0, 80)}`)
  }
}
