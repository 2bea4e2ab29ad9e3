import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { addressKind, type AddressKind } from '../addresses.js'

/**
 * A connection's host is, or resolved to, an address that is not public. Raised inside the
 * connection (so no byte is sent); http-request turns it into OriginForbiddenAddress naming the URL.
 */
export class AddressRefused extends Error {
  static override name = 'AddressRefused'
  constructor (readonly host: string, readonly address: string, readonly kind: AddressKind) {
    super(`${host} is at ${address}, a ${kind} address`)
    this.name = 'AddressRefused'
  }
}

/**
 * The `lookup` of the agents that connect on someone else's behalf: dns.lookup as node:net would
 * call it, then every address the name resolved to must be public, or the connection fails with
 * AddressRefused before it is made. All of them, not the one picked: with autoSelectFamily node
 * tries several, and a name that resolves to a public and a private address is not one to trust.
 * Each new connection resolves again, so a name that rebinds to a private address after a first
 * check is caught where it connects; a redirect hop is a new request through the same agent.
 */
export const publicLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
    if (err !== null) return callback(err, options.all === true ? [] : '', 0)
    const refused = addresses.find(entry => addressKind(entry.address) !== 'public')
    if (refused !== undefined) return callback(new AddressRefused(hostname, refused.address, addressKind(refused.address)), options.all === true ? [] : '', 0)
    if (options.all === true) return callback(null, addresses)
    const first = addresses[0]
    if (first === undefined) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0)
    callback(null, first.address, first.family)
  })
}

/**
 * A host that is an IP literal (node:net connects to it without a lookup, so publicLookup never
 * sees it): AddressRefused unless it is public. A host name passes here; publicLookup checks it.
 */
export function checkLiteralHost (hostname: string): void {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1')
  if (isIP(bare.replace(/%.*$/, '')) === 0) return
  const kind = addressKind(bare)
  if (kind !== 'public') throw new AddressRefused(hostname, bare, kind)
}
