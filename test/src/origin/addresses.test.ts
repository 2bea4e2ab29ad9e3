import assert from 'node:assert/strict'
import { addressKind, isPublicAddress, type AddressKind } from '../../../src/origin/addresses.js'
import { AddressRefused, checkLiteralHost } from '../../../src/origin/backends/public-lookup.js'

/** Addresses and what they are: each range's first, last and a neighbour just outside it. */
const TABLE: ReadonlyArray<readonly [string, AddressKind]> = [
  // IPv4
  ['0.0.0.0', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['1.0.0.1', 'public'],
  ['8.8.8.8', 'public'],
  ['9.255.255.255', 'public'],
  ['10.0.0.0', 'private'],
  ['10.255.255.255', 'private'],
  ['11.0.0.0', 'public'],
  ['100.63.255.255', 'public'],
  ['100.64.0.0', 'shared'],
  ['100.127.255.255', 'shared'],
  ['100.128.0.0', 'public'],
  ['126.255.255.255', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['128.0.0.0', 'public'],
  ['169.253.255.255', 'public'],
  ['169.254.169.254', 'link-local'],
  ['169.254.0.0', 'link-local'],
  ['169.255.0.0', 'public'],
  ['172.15.255.255', 'public'],
  ['172.16.0.0', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.0', 'public'],
  ['192.0.0.8', 'reserved'],
  ['192.0.1.0', 'public'],
  ['192.167.255.255', 'public'],
  ['192.168.0.1', 'private'],
  ['192.168.255.255', 'private'],
  ['192.169.0.0', 'public'],
  ['198.17.255.255', 'public'],
  ['198.18.0.1', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['198.20.0.0', 'public'],
  ['223.255.255.255', 'public'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'],
  // IPv6
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::2', 'reserved'],
  ['::127.0.0.1', 'reserved'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::FFFF:10.1.2.3', 'private'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:100.64.0.1', 'shared'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::ffff:8.8.8.8', 'public'],
  ['0:0:0:0:0:ffff:c0a8:0101', 'private'],
  ['::ffff:0:127.0.0.1', 'loopback'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::808:808', 'public'],
  ['64:ff9b:1::1', 'private'],
  ['100::1', 'reserved'],
  ['2002:7f00:1::', 'loopback'],
  ['2002:a00:1::1', 'private'],
  ['2002:808:808::1', 'public'],
  ['2001::1', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['2001:4860:4860::8888', 'public'],
  ['2606:4700::1111', 'public'],
  ['fc00::1', 'private'],
  ['fdff:ffff::1', 'private'],
  ['fe00::1', 'public'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'private'],
  ['ff02::1', 'multicast'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
  ['[::1]', 'loopback']
]

describe('origin addresses: what an address is, for connections made on someone else\'s behalf', () => {
  for (const [address, kind] of TABLE) {
    it(`${address} is ${kind}`, () => {
      assert.equal(addressKind(address), kind)
      assert.equal(isPublicAddress(address), kind === 'public')
    })
  }

  it('something that is no IP address is a TypeError naming it', () => {
    for (const bad of ['', 'localhost', '127.0.0.1.', '1.2.3', '256.0.0.1', '::ffff:1.2.3.4.5', 'fe80::1::2', '[::1', 'example.com']) {
      assert.throws(() => addressKind(bad), (err: Error) => err.name === 'TypeError' && err.message.includes(bad.slice(0, 80)), bad)
    }
    assert.throws(() => addressKind(42 as never), TypeError)
  })

  it('a literal host in a URL is refused unless public; a host name is left to the lookup', () => {
    const hostOf = (url: string): string => new URL(url).hostname
    for (const url of ['http://127.0.0.1/', 'http://[::1]/', 'http://0x7f.1/', 'http://2130706433/', 'http://[::ffff:127.0.0.1]/', 'http://169.254.169.254/latest/meta-data/', 'http://0/', 'http://[fe80::1%25eth0]/']) {
      let hostname: string
      try {
        hostname = hostOf(url)
      } catch {
        continue // no URL at all (node's WHATWG parser refuses zone ids): nothing to connect to
      }
      assert.throws(() => { checkLiteralHost(hostname) }, (err: Error) => err instanceof AddressRefused && err.name === 'AddressRefused', url)
    }
    for (const url of ['http://8.8.8.8/', 'http://[2001:4860:4860::8888]/', 'http://localhost/', 'http://example.com/']) checkLiteralHost(hostOf(url))
  })
})
