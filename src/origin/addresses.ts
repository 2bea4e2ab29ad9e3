import { isIPv4, isIPv6 } from 'node:net'

/**
 * What an IP address is, as far as whether a node may connect to it on someone else's behalf:
 * `public` (global unicast) or why not. IPv6 forms that carry an IPv4 address (mapped
 * `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are what that IPv4 address is.
 */
export type AddressKind =
  | 'public'
  | 'loopback' // 127/8, ::1
  | 'private' // 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48
  | 'link-local' // 169.254/16 (cloud metadata lives here), fe80::/10
  | 'unspecified' // 0/8, :: (0.0.0.0 reaches the local host on Linux)
  | 'multicast' // 224/4, ff00::/8
  | 'shared' // 100.64/10, carrier-grade NAT
  | 'reserved' // 192.0.0/24, 198.18/15, 240/4 and broadcast, ::/96 IPv4-compatible, 100::/64, 2001::/32 Teredo, 2001:db8::/32

/** One IPv4 range: the address as a 32-bit number, masked to `bits`. */
const V4: ReadonlyArray<readonly [number, number, AddressKind]> = [
  [v4('0.0.0.0'), 8, 'unspecified'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'shared'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.0.0.0'), 24, 'reserved'],
  [v4('192.168.0.0'), 16, 'private'],
  [v4('198.18.0.0'), 15, 'reserved'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved']
]

/**
 * What `address` is (IPv4 dotted or IPv6 text, a zone id such as `%eth0` allowed); TypeError
 * when it is no IP address.
 */
export function addressKind (address: string): AddressKind {
  if (typeof address !== 'string') throw new TypeError(`address must be a string, got ${typeof address}`)
  if (isIPv4(address)) return v4Kind(v4(address))
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '')
  if (!isIPv6(bare)) throw new TypeError(`address must be an IPv4 or IPv6 address, got ${address.slice(0, 80)}`)
  return v6Kind(v6Bytes(bare))
}

/** Whether a node may connect to `address` for someone else: global unicast only. */
export function isPublicAddress (address: string): boolean {
  return addressKind(address) === 'public'
}

function v4Kind (value: number): AddressKind {
  for (const [base, bits, kind] of V4) {
    if (((value ^ base) >>> (32 - bits)) === 0) return kind
  }
  return 'public'
}

function v6Kind (b: Uint8Array): AddressKind {
  const word = (i: number): number => ((b[i * 2] as number) << 8) | (b[i * 2 + 1] as number)
  const zeroUpTo = (n: number): boolean => b.subarray(0, n).every(byte => byte === 0)
  const embedded = (at: number): number => (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0
  if (zeroUpTo(16)) return 'unspecified'
  if (zeroUpTo(15) && b[15] === 1) return 'loopback'
  if (zeroUpTo(10) && word(5) === 0xffff) return v4Kind(embedded(12)) // ::ffff:a.b.c.d, mapped
  if (zeroUpTo(12)) return 'reserved' // ::a.b.c.d, IPv4-compatible (deprecated)
  if (zeroUpTo(8) && word(4) === 0xffff && word(5) === 0) return v4Kind(embedded(12)) // ::ffff:0:a.b.c.d, translated (SIIT)
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 0 && word(3) === 0 && word(4) === 0 && word(5) === 0) return v4Kind(embedded(12)) // NAT64 well-known prefix
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 1) return 'private' // 64:ff9b:1::/48, local-use NAT64
  if (word(0) === 0x0100 && word(1) === 0 && word(2) === 0 && word(3) === 0) return 'reserved' // 100::/64, discard
  if (word(0) === 0x2002) return v4Kind(embedded(2)) // 6to4
  if (word(0) === 0x2001 && word(1) === 0) return 'reserved' // Teredo: a tunnel whose far end it cannot vouch for
  if (word(0) === 0x2001 && word(1) === 0x0db8) return 'reserved' // documentation
  if ((b[0] as number) === 0xff) return 'multicast'
  if (((b[0] as number) & 0xfe) === 0xfc) return 'private' // fc00::/7, unique local
  if (word(0) >> 6 === 0xfe80 >> 6) return 'link-local' // fe80::/10
  if (word(0) >> 6 === 0xfec0 >> 6) return 'private' // fec0::/10, site-local (deprecated)
  return 'public'
}

function v4 (text: string): number {
  return text.split('.').reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0)
}

/** The 16 bytes of an IPv6 address already checked by isIPv6 (no zone id). */
function v6Bytes (text: string): Uint8Array {
  let groups = text
  const bytes = new Uint8Array(16)
  let tail: number | undefined
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups)
  if (dotted !== null) {
    tail = v4(dotted[1] as string)
    groups = groups.slice(0, -(dotted[1] as string).length) + '0:0'
  }
  const [head, rest] = groups.includes('::') ? groups.split('::') as [string, string] : [groups, undefined]
  const front = head === '' ? [] : head.split(':')
  const back = rest === undefined || rest === '' ? [] : rest.split(':')
  const words = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back].map(word => parseInt(word, 16))
  words.forEach((word, i) => { bytes[i * 2] = word >> 8; bytes[i * 2 + 1] = word & 0xff })
  if (tail !== undefined) new DataView(bytes.buffer).setUint32(12, tail)
  return bytes
}
