import assert from 'node:assert/strict'
import { BlobTicket, InvalidTicket, ipBytes } from '../../src/ticket.js'
import { randomBytes } from '../helpers.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ')

describe('blob tickets (PROTOCOL.md section 6)', () => {
  const id = randomBytes(32, 1)
  const hash = randomBytes(32, 2)

  it('lays out a ticket with no addresses as 00 id 00 00 00 hash', () => {
    const ticket = new BlobTicket({ nodeId: id, hash })
    assert.equal(hex(ticket.toBytes()), `00 ${hex(id)} 00 00 00 ${hex(hash)}`)
    const text = ticket.toString()
    assert.match(text, /^blob[a-z2-7]+$/)
    assert.deepEqual(BlobTicket.parse(text).toBytes(), ticket.toBytes())
  })

  it('writes 127.0.0.1:1024 as 00 7f 00 00 01 80 08, IPv4 before IPv6, sorted, deduplicated', () => {
    const one = new BlobTicket({ nodeId: id, hash, addrs: [{ ip: '127.0.0.1', port: 1024 }] })
    assert.equal(hex(one.toBytes()), `00 ${hex(id)} 00 01 00 7f 00 00 01 80 08 00 ${hex(hash)}`)
    const many = new BlobTicket({
      nodeId: id,
      hash,
      format: 'hashseq',
      addrs: [{ ip: '::1', port: 5 }, { ip: '10.0.0.2', port: 9 }, { ip: '10.0.0.1', port: 9 }, { ip: '10.0.0.1', port: 8 }, { ip: '10.0.0.1', port: 8 }]
    })
    assert.deepEqual(many.addrs, [{ ip: '10.0.0.1', port: 8 }, { ip: '10.0.0.1', port: 9 }, { ip: '10.0.0.2', port: 9 }, { ip: '::1', port: 5 }])
    const back = BlobTicket.parse(many.toString())
    assert.deepEqual(back.addrs, many.addrs)
    assert.equal(back.format, 'hashseq')
    assert.deepEqual(back.hash, hash)
  })

  it('parses base32 in any case, ignores bytes after the hash, keeps the relay URL', () => {
    const ticket = new BlobTicket({ nodeId: id, hash, relayUrl: 'https://relay.example/', addrs: [{ ip: '127.0.0.1', port: 4433 }] })
    const text = ticket.toString()
    assert.deepEqual(BlobTicket.parse('blob' + text.slice(4).toUpperCase()).toBytes(), ticket.toBytes())
    const longer = BlobTicket.fromBytes(Uint8Array.from([...ticket.toBytes(), 1, 2, 3]))
    assert.equal(longer.relayUrl, 'https://relay.example/')
    assert.deepEqual(longer.toBytes(), ticket.toBytes())
  })

  it('ignores surrounding whitespace and takes the prefix in upper case (a pasted ticket)', () => {
    const ticket = new BlobTicket({ nodeId: id, hash, addrs: [{ ip: '127.0.0.1', port: 4433 }] })
    const text = ticket.toString()
    for (const pasted of [text + '\n', `  ${text}\r\n`, '\t' + text, text.toUpperCase(), 'BLOB' + text.slice(4), 'Blob' + text.slice(4) + '\n']) {
      assert.deepEqual(BlobTicket.parse(pasted).toBytes(), ticket.toBytes(), JSON.stringify(pasted))
    }
  })

  it('rejects bad tickets with InvalidTicket', () => {
    const good = new BlobTicket({ nodeId: id, hash }).toString()
    for (const bad of ['', '   \n', 'node' + good.slice(4), 'blob ' + good.slice(4), good + 'x!', 'blob!!!!', good.slice(0, good.length - 10), 'blob' + 'b'.repeat(20)]) {
      assert.throws(() => BlobTicket.parse(bad), InvalidTicket, JSON.stringify(bad))
    }
    const variant1 = new BlobTicket({ nodeId: id, hash }).toBytes()
    variant1[0] = 1
    assert.throws(() => BlobTicket.fromBytes(variant1), { name: 'InvalidTicket' })
    assert.throws(() => BlobTicket.parse(42 as unknown as string), TypeError)
    assert.throws(() => new BlobTicket({ nodeId: id, hash, addrs: [{ ip: 'nope', port: 1 }] }), RangeError)
  })

  it('converts IPv6 text to bytes, compressed forms and IPv4 tails included', () => {
    assert.equal(hex(ipBytes('::1')), '00 '.repeat(15) + '01')
    assert.equal(hex(ipBytes('fe80::1:2')), 'fe 80 ' + '00 '.repeat(10) + '00 01 00 02')
    assert.equal(hex(ipBytes('::ffff:10.0.0.1')), '00 '.repeat(10) + 'ff ff 0a 00 00 01')
    assert.equal(hex(ipBytes('1:2:3:4:5:6:7:8')), '00 01 00 02 00 03 00 04 00 05 00 06 00 07 00 08')
  })
})
