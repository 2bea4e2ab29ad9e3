import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { Multiaddr } from '@multiformats/multiaddr'
import { deframe, FRAME_SIZE, ResponseWriter } from '../../../protocol/frame.js'
import type { ByteStream } from '../../../protocol/interface.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { byteStream } from '../../../src/net/stream.js'
import { randomBytes } from '../../helpers.js'

/**
 * ResponseWriter fills a frame buffer again once the transport says it holds none of its bytes
 * (ByteStream.released). If that signal came too early, the transport would send bytes of a
 * later frame in place of the earlier one's: here several responses at once over one connection
 * are read slowly and in bursts (so the transports queue), and every byte received is compared.
 */
const PROTOCOL = '/verity-test/reuse/1'
const STREAMS = 4
const SIZE = 12 << 20
const PIECES = [1, 4093, 16384, 65536, 300000, 7] // odd sizes: frames fill across pieces

/** `data` in PIECES-sized writes through a ResponseWriter. */
async function respond (out: ResponseWriter, data: Uint8Array): Promise<void> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const take = Math.min(PIECES[i % PIECES.length] as number, data.length - at)
    await out.write(data.subarray(at, at + take))
    at += take
  }
  await out.end()
}

/** A ByteStream that counts the times its transport released the bytes of a whole frame. */
function counting (inner: ByteStream, counts: { released: number }): ByteStream {
  const released = inner.released
  if (released === undefined) return inner
  return {
    ...inner,
    released: () => {
      const yes = released()
      if (yes) counts.released++
      return yes
    }
  }
}

describe('a reused send buffer is never overwritten while the transport holds it', function () {
  this.timeout(120000)
  const data = Array.from({ length: STREAMS }, (_, i) => randomBytes(SIZE, 700 + i))
  const digests = data.map(d => createHash('sha256').update(d).digest('hex'))
  let server: VerityNode
  let client: VerityNode
  const counts = { released: 0 }
  /** How the server's writer sees its stream: honest, or lying for the control case. */
  let adapt: (s: ByteStream) => ByteStream = s => counting(s, counts)

  before(async () => {
    server = await createNode()
    client = await createNode()
    await server.libp2p.handle(PROTOCOL, async stream => {
      const s = byteStream(stream)
      let which = 0
      for await (const piece of s.source) which = piece[0] as number
      await respond(new ResponseWriter(adapt(s), true), data[which] as Uint8Array)
    })
  })
  after(async () => { await Promise.all([client.stop(), server.stop()]) })
  beforeEach(() => { counts.released = 0; adapt = s => counting(s, counts) })

  /** STREAMS responses at once on one connection to `addr`, each read slowly; their digests. */
  async function fetchAll (addr: Multiaddr): Promise<Array<{ digest: string, bytes: number }>> {
    const connection = await client.libp2p.dial(addr)
    return await Promise.all(data.map(async (_, i) => {
      const stream = await connection.newStream(PROTOCOL)
      const s = byteStream(stream)
      await s.write(new Uint8Array([i]))
      return await slowDigest(s)
    }))
  }

  for (const transport of ['QUIC', 'TCP'] as const) {
    it(`over ${transport}: every byte arrives as written, and frame buffers were reused`, async () => {
      const addr = server.addrs().find(a => transport === 'QUIC' ? a.toString().includes('/quic-v1') : a.toString().includes('/tcp/')) as Multiaddr
      const results = await fetchAll(addr)
      for (const [i, result] of results.entries()) {
        assert.equal(result.bytes, SIZE, `response ${i}: all its bytes`)
        assert.equal(result.digest, digests[i], `response ${i}: the bytes written, in order`)
      }
      // Without reuse the check above would pass trivially: most frames went out of a reused buffer.
      const frames = STREAMS * SIZE / FRAME_SIZE
      assert.ok(counts.released > frames / 2, `${counts.released} frame buffers released for reuse of ${frames} frames`)
    })
  }

  it('control: a stream that says its bytes are released while they are still queued is caught', async () => {
    // Writes are acknowledged at once and sent later, and `released` says yes regardless: the
    // writer then fills a buffer the "transport" still holds, and the bytes received differ.
    adapt = s => {
      const queue: Uint8Array[] = []
      let sending: Promise<void> = Promise.resolve()
      return {
        ...s,
        write: async bytes => {
          queue.push(bytes)
          sending = sending.then(async () => {
            await new Promise(resolve => setTimeout(resolve, 1))
            await s.write(queue.shift() as Uint8Array)
          })
        },
        closeWrite: async () => { await sending; await s.closeWrite() },
        released: () => true
      }
    }
    const addr = server.addrs().find(a => a.toString().includes('/quic-v1')) as Multiaddr
    const results = await fetchAll(addr)
    assert.ok(results.some((result, i) => result.digest !== digests[i]), 'an early release corrupts what is received')
  })
})

/** Closes our side, then the SHA-256 of the payload read from `s`, pausing every 512 KiB for a moment. */
async function slowDigest (s: ByteStream): Promise<{ digest: string, bytes: number }> {
  await s.closeWrite()
  const hash = createHash('sha256')
  let bytes = 0
  let sincePause = 0
  for await (const piece of deframe(s.source)) {
    hash.update(piece)
    bytes += piece.length
    sincePause += piece.length
    if (sincePause >= 512 << 10) {
      sincePause = 0
      await new Promise(resolve => setTimeout(resolve, 3))
    }
  }
  return { digest: hash.digest('hex'), bytes }
}
