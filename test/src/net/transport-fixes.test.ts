import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Stream } from '@libp2p/interface'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { QUIC_READ_SIZE } from '../../../src/net/transport-fixes/quic.js'
import { YAMUX_MAX_STREAM_WINDOW } from '../../../src/net/transport-fixes/yamux.js'
import type { UnexpectedTransportVersion } from '../../../src/net/transport-fixes/errors.js'
import { assertFixedVersions, FIXED_VERSIONS } from '../../../src/net/transport-fixes/versions.js'
import { repoRoot } from '../../helpers.js'

/*
 * The transport fixes (src/net/transport-fixes) wrap internals of the pinned QUIC and yamux
 * packages. Each test checks what a fix is for, on raw libp2p streams between two nodes on
 * 127.0.0.1, so a version whose internals moved fails here even if every hook still finds its
 * method. (create-node.test.ts and fair-share.test.ts check the same through verity's own use.)
 */

const PROTOCOL = '/verity-test/transport-fixes/1'

/** Sends `total` bytes in pieces of `piece`, waiting for drain as the transport asks. */
async function write (stream: Stream, total: number, piece: number, progress?: (sent: number) => void): Promise<void> {
  for (let sent = 0; sent < total; sent += piece) {
    if (!stream.send(new Uint8Array(Math.min(piece, total - sent)))) {
      await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
    }
    progress?.(sent + piece)
  }
}

/** `write`, then close the write side. */
async function send (stream: Stream, total: number, piece: number, progress?: (sent: number) => void): Promise<void> {
  await write(stream, total, piece, progress)
  await stream.close()
}

/** Counts a stream's bytes until the remote closes its write side. */
async function drain (stream: Stream): Promise<number> {
  let received = 0
  for await (const chunk of stream) received += chunk.byteLength
  return received
}

describe('transport fixes (src/net/transport-fixes)', function () {
  this.timeout(60000)
  let a: VerityNode
  let b: VerityNode
  let inbound: (stream: Stream) => void
  // A fresh pair each test: libp2p reuses an open connection to a peer whatever address is dialled.
  beforeEach(async () => {
    a = await createNode()
    b = await createNode()
    await b.libp2p.handle(PROTOCOL, stream => { inbound(stream) })
  })
  afterEach(async () => {
    await a?.stop()
    await b?.stop()
  })
  const dialB = async (transport: 'quic' | 'tcp'): Promise<Stream> => {
    const addr = b.addrs().find(ma => ma.toString().includes(transport === 'quic' ? '/quic-v1' : '/tcp/'))
    assert.ok(addr !== undefined)
    const stream = await a.libp2p.dialProtocol(addr, PROTOCOL)
    assert.deepEqual(a.libp2p.getConnections().map(c => c.remoteAddr.toString().includes(transport === 'quic' ? '/quic-v1' : '/tcp/')), [true])
    return stream
  }
  const nextInbound = async (): Promise<Stream> => await new Promise(resolve => { inbound = resolve })

  it('installs the pinned transport versions, and package.json pins exactly FIXED_VERSIONS', () => {
    assertFixedVersions()
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    for (const [name, version] of Object.entries(FIXED_VERSIONS)) assert.equal(pkg.dependencies[name], version, name)
  })

  it('refuses another version, or a transport not installed, with UnexpectedTransportVersion naming both versions', () => {
    const other = { '@chainsafe/libp2p-quic': '2.1.2' }
    assert.throws(() => { assertFixedVersions(other) }, (err: UnexpectedTransportVersion) =>
      err.name === 'UnexpectedTransportVersion' && err.dependency === '@chainsafe/libp2p-quic' && err.expected === '2.1.2' && err.found === FIXED_VERSIONS['@chainsafe/libp2p-quic'])
    assert.throws(() => { assertFixedVersions({ '@verity-test/absent': '1.0.0' }) }, (err: UnexpectedTransportVersion) =>
      err.name === 'UnexpectedTransportVersion' && err.found === '' && /not installed/.test(err.message))
  })

  it(`QUIC: the read loop asks for ${QUIC_READ_SIZE >> 10} KiB a call, not 4 KiB`, async () => {
    const receiving = nextInbound()
    const stream = await dialB('quic')
    const sending = send(stream, 8 << 20, 1 << 20)
    const received = await receiving
    let largest = 0
    let total = 0
    received.addEventListener('message', event => {
      largest = Math.max(largest, event.data.byteLength)
      total += event.data.byteLength
    })
    await Promise.all([sending, new Promise(resolve => received.addEventListener('remoteCloseWrite', resolve, { once: true }))])
    assert.equal(total, 8 << 20)
    // Each native read is one message; with 4 KiB reads none is larger than 4,096 bytes.
    assert.ok(largest > 4096, `largest message ${largest} bytes`)
    assert.ok(largest <= QUIC_READ_SIZE, `largest message ${largest} bytes`)
  })

  it('QUIC: a paused stream holds the sender back (its read buffer stays small), and resume delivers every byte', async () => {
    const total = 48 << 20
    const receiving = nextInbound()
    const stream = await dialB('quic')
    let sent = 0
    const sending = send(stream, total, 256 << 10, n => { sent = n })
    const received = await receiving
    received.pause()
    await new Promise(resolve => setTimeout(resolve, 1500))
    // Without the fix the read loop goes on while paused and the stream aborts once its read
    // buffer passes maxReadBufferLength (4 MiB): QUIC flow control never holds the sender.
    assert.equal(received.status, 'open')
    assert.ok(received.readBufferLength <= 2 * QUIC_READ_SIZE, `${received.readBufferLength} bytes buffered while paused`)
    assert.ok(sent < total, `the sender was not held back: all ${sent} bytes sent while the reader was paused`)
    received.resume()
    const [count] = await Promise.all([drain(received), sending])
    assert.equal(count, total)
  })

  it('TCP (yamux): a receiver sent one-byte frames answers with a window update per half window, not per frame', async () => {
    const frames = 20000
    const receiving = nextInbound()
    const stream = await dialB('tcp')
    let updates = 0
    // The sender's side of yamux: each window update frame from the receiver arrives here.
    const internals = stream as unknown as { handleWindowUpdate: (frame: unknown) => void }
    assert.equal(typeof internals.handleWindowUpdate, 'function', 'yamux stream internals moved: update this test')
    const handleWindowUpdate = internals.handleWindowUpdate.bind(stream)
    internals.handleWindowUpdate = frame => { updates++; handleWindowUpdate(frame) }
    const counting = receiving.then(drain)
    await write(stream, frames, 1)
    await new Promise(resolve => setTimeout(resolve, 200))
    const forOneByteFrames = updates
    // Then 8 MiB in large frames: windows still open as they are used (else the sender stalls).
    await send(stream, 8 << 20, 64 << 10)
    assert.equal(await counting, frames + (8 << 20))
    // The stream's ACK and few if any updates; without the fix one per frame (20,000).
    assert.ok(forOneByteFrames < 10, `${forOneByteFrames} window updates for ${frames} one-byte frames`)
  })

  it('TCP (yamux): a stream\'s receive window grows to 4 MiB at most, not the package\'s 16 MiB', async () => {
    const total = 64 << 20
    const receiving = nextInbound()
    const stream = await dialB('tcp')
    const received = await receiving
    const internals = received as unknown as { recvWindow: number, maxStreamWindowSize: number }
    assert.equal(typeof internals.recvWindow, 'number', 'yamux stream internals moved: update this test')
    // The limit each stream is made with (how fast the window grows to it depends on timing).
    assert.equal(internals.maxStreamWindowSize, YAMUX_MAX_STREAM_WINDOW)
    assert.equal((stream as unknown as { maxStreamWindowSize: number }).maxStreamWindowSize, YAMUX_MAX_STREAM_WINDOW)
    let largest = internals.recvWindow
    const watch = setInterval(() => { largest = Math.max(largest, internals.recvWindow) }, 1)
    try {
      // A reader that keeps up: the window grows as fast as the package lets it (to 16 MiB
      // within the first 100 ms of a 256 MiB download here, without the limit; how far it gets
      // depends on timing, so the limit streams are made with is checked above as well).
      const [count] = await Promise.all([drain(received), send(stream, total, 256 << 10)])
      assert.equal(count, total)
    } finally {
      clearInterval(watch)
    }
    largest = Math.max(largest, internals.recvWindow)
    assert.ok(largest <= YAMUX_MAX_STREAM_WINDOW, `the receive window grew to ${largest} bytes`)
  })
})
