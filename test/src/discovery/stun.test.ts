import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { bindingResponse, startStunServer, type StunServer } from '../../../src/discovery/stun.js'

const MAGIC = 0x2112a442

/** A Binding request: header, then `attrs` (already padded). */
function request (attrs = new Uint8Array(0), id = randomBytes(12)): Uint8Array {
  const out = new Uint8Array(20 + attrs.length)
  const view = new DataView(out.buffer)
  view.setUint16(0, 0x0001)
  view.setUint16(2, attrs.length)
  view.setUint32(4, MAGIC)
  out.set(id, 8)
  out.set(attrs, 20)
  return out
}

/** The XOR-MAPPED-ADDRESS of a Binding success response, decoded as RFC 8489 says (written apart from stun.ts). */
function mapped (response: Uint8Array): { id: Uint8Array, family: number, port: number, address: Uint8Array } {
  const view = new DataView(response.buffer, response.byteOffset, response.byteLength)
  assert.equal(view.getUint16(0), 0x0101, 'a Binding success response')
  assert.equal(view.getUint32(4), MAGIC)
  assert.equal(view.getUint16(2), response.length - 20)
  let at = 20
  while (at < response.length) {
    const type = view.getUint16(at)
    const length = view.getUint16(at + 2)
    if (type === 0x0020) {
      const family = view.getUint8(at + 5)
      const port = view.getUint16(at + 6) ^ (MAGIC >>> 16)
      const key = response.subarray(4, 20) // cookie, then transaction id
      const address = response.slice(at + 8, at + 4 + length).map((b, i) => b ^ (key[i] as number))
      return { id: response.slice(8, 20), family, port, address }
    }
    at += 4 + Math.ceil(length / 4) * 4
  }
  throw new Error('no XOR-MAPPED-ADDRESS')
}

describe('STUN responder (serve --stun-server): the public side of a UDP socket, for hole punching', () => {
  it('answers a Binding request with the sender\'s address and port, XORed as RFC 8489 says (IPv4 and IPv6)', () => {
    const id = randomBytes(12)
    const v4 = mapped(bindingResponse(request(new Uint8Array(8), id), { address: '7.0.2.2', port: 55748 }) as Uint8Array)
    assert.deepEqual([...v4.id], [...id], 'the transaction id echoed')
    assert.deepEqual([v4.family, v4.port, [...v4.address].join('.')], [1, 55748, '7.0.2.2'])
    const v6 = mapped(bindingResponse(request(), { address: '2001:db8::1:2', port: 1 }) as Uint8Array)
    assert.equal(v6.family, 2)
    assert.equal(v6.port, 1)
    assert.equal(Buffer.from(v6.address).toString('hex'), '20010db8000000000000000000010002')
    // A dual-stack socket's view of an IPv4 sender.
    const mappedV4 = mapped(bindingResponse(request(), { address: '::ffff:7.0.2.2', port: 4000 }) as Uint8Array)
    assert.deepEqual([mappedV4.family, mappedV4.port, [...mappedV4.address].join('.')], [1, 4000, '7.0.2.2'])
  })

  it('answers no sender whose address is not a real IPv6 one (too many groups, too few, two ::, not hex), and does not throw', () => {
    for (const address of ['1:2:3:4:5:6:7:8:9', '1:2:3', '1::2::3', '12zz::1', '::1.2', ':::', '']) {
      assert.equal(bindingResponse(request(), { address, port: 1 }), undefined, address)
    }
    for (const [address, hex] of [['::1', '00000000000000000000000000000001'], ['::', '0'.repeat(32)], ['fe80::1%eth0', 'fe800000000000000000000000000001'], ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008']]) {
      assert.equal(Buffer.from(mapped(bindingResponse(request(), { address: address as string, port: 1 }) as Uint8Array).address).toString('hex'), hex, address)
    }
  })

  it('a port it cannot bind is StunServerFailed naming it, and leaves no socket open', async () => {
    const first = await startStunServer({ host: '127.0.0.1', port: 0 })
    try {
      const { readdirSync } = await import('node:fs')
      const fds = (): number => readdirSync('/proc/self/fd').length
      const before = fds()
      for (let i = 0; i < 5; i++) {
        const err = await startStunServer({ host: '127.0.0.1', port: first.address.port }).then(() => undefined, (e: unknown) => e as Error)
        assert.equal(err?.name, 'StunServerFailed')
        assert.match(err?.message ?? '', new RegExp(`cannot answer STUN on 127\\.0\\.0\\.1:${first.address.port} \\(udp\\): EADDRINUSE`))
      }
      assert.equal(fds(), before, 'no socket left open by the failed starts')
    } finally {
      await first.close()
      await first.close() // twice: a no-op
    }
  })

  it('drops what is not a well-formed Binding request: short, long, wrong type or cookie, a length that does not add up', () => {
    const from = { address: '7.0.0.1', port: 9 }
    const good = request()
    const bad: Uint8Array[] = [
      good.subarray(0, 19),
      request(new Uint8Array(548)),
      Uint8Array.from(good, (b, i) => i === 1 ? 0x11 : b), // a Binding indication
      Uint8Array.from(good, (b, i) => i === 0 ? 0x01 : b), // a response, not a request
      Uint8Array.from(good, (b, i) => i === 4 ? 0 : b), // no magic cookie (RFC 3489)
      Uint8Array.from(request(new Uint8Array(8)), (b, i) => i === 3 ? 12 : b), // says 12 bytes, has 8
      Uint8Array.from(request(new Uint8Array(6)), (b, i) => i === 3 ? 6 : b) // attributes not padded to 4
    ]
    for (const datagram of bad) assert.equal(bindingResponse(datagram, from), undefined, Buffer.from(datagram).toString('hex').slice(0, 48))
    assert.notEqual(bindingResponse(good, from), undefined)
  })

  describe('over a real UDP socket on 127.0.0.1', () => {
    let server: StunServer
    let client: Socket
    const answers: Uint8Array[] = []
    before(async () => {
      server = await startStunServer({ host: '127.0.0.1', port: 0, maxPerSecond: 50 })
      client = createSocket('udp4')
      client.on('message', message => { answers.push(new Uint8Array(message)) })
      await new Promise<void>(resolve => { client.bind(0, '127.0.0.1', resolve) })
    })
    after(async () => {
      client?.close()
      await server?.close()
    })
    const send = async (datagram: Uint8Array): Promise<void> => {
      await new Promise<void>((resolve, reject) => { client.send(datagram, server.address.port, '127.0.0.1', err => { if (err === null) resolve(); else reject(err) }) })
    }
    const settle = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 300)) }

    it('tells the client its own address and port', async () => {
      answers.length = 0
      await send(request())
      await settle()
      assert.equal(answers.length, 1)
      const answer = mapped(answers[0] as Uint8Array)
      assert.equal([...answer.address].join('.'), '127.0.0.1')
      assert.equal(answer.port, client.address().port)
    })

    it('2,000 random and truncated datagrams get no answer, and the next good request does', async () => {
      answers.length = 0
      const dropped = server.counts.dropped
      for (let i = 0; i < 2000; i++) {
        const junk = i % 2 === 0 ? randomBytes(1 + (i % 600)) : request(new Uint8Array(4 * (i % 8))).subarray(0, 20 + (i % 13))
        if (i % 2 === 1 && junk.length === 20 + 4 * (i % 8)) continue // whole: a good request
        await send(junk)
        if (i % 100 === 99) await new Promise(resolve => setTimeout(resolve, 20)) // within the socket's receive buffer: counted, not lost
      }
      await settle()
      assert.equal(answers.length, 0, 'nothing answered')
      assert.ok(server.counts.dropped - dropped >= 1500, `${server.counts.dropped - dropped} dropped`)
      await new Promise(resolve => setTimeout(resolve, 1000)) // a fresh second for the rate
      await send(request())
      await settle()
      assert.equal(answers.length, 1, 'still answering')
    })

    it('answers at most maxPerSecond requests a second, whoever sends them', async () => {
      await new Promise(resolve => setTimeout(resolve, 1000))
      answers.length = 0
      const sent = 300
      for (let i = 0; i < sent; i++) await send(request())
      await settle()
      // The burst may straddle one second's end: at most two seconds' worth.
      assert.ok(answers.length <= 100, `${answers.length} answers to ${sent} requests`)
      assert.ok(answers.length >= 50, `${answers.length} answers: the first second's 50 at least`)
    })

    it('is what a real ICE agent (libdatachannel, under libp2p\'s WebRTC) takes its server-reflexive candidate from', async () => {
      const { RTCPeerConnection } = await import('node-datachannel/polyfill')
      const { cleanup } = await import('node-datachannel')
      const answered = server.counts.answered
      // The DOM's RTCConfiguration is not in this project's types (no DOM lib): the shape libp2p passes.
      const config = { iceServers: [{ urls: `stun:127.0.0.1:${server.address.port}` }] } as unknown as ConstructorParameters<typeof RTCPeerConnection>[0]
      const pc = new RTCPeerConnection(config)
      try {
        const reflexive = new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => { reject(new Error('no srflx candidate within 10 s')) }, 10_000)
          pc.onicecandidate = ({ candidate }: { candidate: { candidate?: string } | null }) => {
            if (candidate?.candidate?.includes(' typ srflx') === true) { clearTimeout(timer); resolve(candidate.candidate) }
          }
        })
        pc.createDataChannel('probe')
        await pc.setLocalDescription(await pc.createOffer())
        const candidate = await reflexive
        assert.match(candidate, / 127\.0\.0\.1 \d+ typ srflx/)
        assert.ok(server.counts.answered > answered)
      } finally {
        pc.close()
        cleanup() // a peer connection closed while gathering keeps libdatachannel's threads, and mocha, alive
      }
    })
  })
})
