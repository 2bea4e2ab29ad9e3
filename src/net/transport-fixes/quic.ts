import { quic, type QuicComponents, type QuicOptions } from '@chainsafe/libp2p-quic'
import type { AbortOptions, Logger, MultiaddrConnection, Stream, StreamMuxer, StreamMuxerFactory, Transport, Upgrader, UpgraderWithoutEncryptionOptions } from '@libp2p/interface'
import { TransportInternalsChanged } from './errors.js'
import { ReadGate } from './read-gate.js'
import { tellWhenReleased } from './release.js'

/**
 * Bytes asked of the native QUIC stream per read. The transport asks for 4 KiB, so a 256 MiB
 * transfer is 65,536 native calls, each a promise crossing into Rust and a Uint8ArrayList, and
 * one stream tops out near 90 MB/s on loopback; with 256 KiB, about 340.
 */
export const QUIC_READ_SIZE = 256 << 10

/*
 * @chainsafe/libp2p-quic 2.1.1 (pinned, versions.ts) has two faults this module works around
 * without patching its files (a consumer's npm would not run an install-time patch):
 *
 * - Its read loop asks the native stream for 4 KiB at a time (QUIC_READ_SIZE above).
 * - Its QuicStream ignores pause(): `sendPause` is empty and the read loop keeps reading, so a
 *   paused stream's read buffer grows at the sender's pace until @libp2p/utils aborts the stream
 *   (StreamBufferError past `maxReadBufferLength`) and QUIC's flow control never holds the sender
 *   back. Here the loop waits in `read` while the stream is paused: the bytes stay in the QUIC
 *   receive window, the sender stops when it is full, and resume() lets the loop go on.
 *
 * What it relies on, checked where it is reached (TransportInternalsChanged otherwise): the
 * upgrade options carry the muxer factory, whose public `init.connection` is the native
 * connection its muxer takes streams from (`inboundStream()`, `outboundStream()`); a native
 * stream has `id()`, `read(size)` and `write(bytes)`, and the QuicStream made from it has the same `id`; the
 * QuicStream's `sendPause`, `sendResume` and `sendCloseRead` are what AbstractStream calls on
 * pause(), resume() and closeRead(). Only this transport's connections are touched: the native
 * objects are wrapped per instance, no prototype is changed.
 */

/** The part of the native (napi) stream this module wraps. */
interface NativeStream { id: () => unknown, read: (size: number) => Promise<Uint8Array | null>, write: (bytes: Uint8Array) => Promise<void> }
/** What is kept for a native stream until its QuicStream claims it. */
interface NativeHooks { gate: ReadGate, writing: () => number }
/** The part of the native connection its muxer takes streams from. */
interface NativeConnection { inboundStream: () => Promise<NativeStream>, outboundStream: () => Promise<NativeStream> }
/** The QuicStream methods AbstractStream calls on pause(), resume() and closeRead(). */
interface FlowHooks { sendPause: () => void, sendResume: () => void, sendCloseRead: (options?: AbortOptions) => Promise<void> }

/** `quic(options)` whose streams read QUIC_READ_SIZE at a time and hold the sender back while paused. */
export function quicWithFlowControl (options: Partial<QuicOptions> = {}): (components: QuicComponents) => Transport {
  const make = quic(options)
  return components => {
    const transport = make(components)
    const log = components.logger.forComponent('verity:transport-fixes:quic')
    // The transport hands the upgrader its muxer factory on every dial and inbound connection:
    // the one place a connection's streams can be reached before the first is made.
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, dialOptions) => dial(ma, { ...dialOptions, upgrader: withFlowControl(dialOptions.upgrader, log) })
    transport.createListener = listenerOptions => createListener({ ...listenerOptions, upgrader: withFlowControl(listenerOptions.upgrader, log) })
    return transport
  }
}

/** `upgrader`, giving the connections it upgrades a muxer factory with the fixes. */
function withFlowControl (upgrader: Upgrader, log: Logger): Upgrader {
  const fixed = (options: UpgraderWithoutEncryptionOptions): UpgraderWithoutEncryptionOptions =>
    ({ ...options, muxerFactory: fixedMuxerFactory(options.muxerFactory, log) })
  return {
    // QUIC encrypts and multiplexes itself: it always upgrades without encryption.
    upgradeOutbound: async (maConn: MultiaddrConnection, options: UpgraderWithoutEncryptionOptions) => upgrader.upgradeOutbound(maConn, fixed(options)),
    upgradeInbound: async (maConn: MultiaddrConnection, options: UpgraderWithoutEncryptionOptions) => { await upgrader.upgradeInbound(maConn, fixed(options)) },
    createInboundAbortSignal: signal => upgrader.createInboundAbortSignal(signal),
    getStreamMuxers: () => upgrader.getStreamMuxers(),
    getConnectionEncrypters: () => upgrader.getConnectionEncrypters()
  }
}

function fixedMuxerFactory (factory: StreamMuxerFactory | undefined, log: Logger): StreamMuxerFactory {
  if (factory === undefined) throw new TransportInternalsChanged('the QUIC transport\'s upgrade options', 'muxerFactory')
  const connection = (factory as { init?: { connection?: Partial<NativeConnection> } }).init?.connection
  if (typeof connection?.inboundStream !== 'function' || typeof connection.outboundStream !== 'function') {
    throw new TransportInternalsChanged('the QUIC muxer factory', 'init.connection with inboundStream() and outboundStream()')
  }
  const gates = gateNativeStreams(connection as NativeConnection)
  return {
    protocol: factory.protocol,
    createStreamMuxer: maConn => holdWhilePaused(factory.createStreamMuxer(maConn), gates, log)
  }
}

/**
 * Wraps the connection's stream sources so every native stream reads QUIC_READ_SIZE at a time
 * behind a gate, and counts its native writes in flight; returns both by stream id, for the
 * QuicStreams made from them to claim.
 *
 * A native write (`write_all` of quinn, in the package's Rust) reads the buffer it is given until
 * its promise settles, and not after: quinn copies what it sends into its own send buffer. So a
 * QuicStream holds none of the bytes written to it once its write buffer is empty and no native
 * write is in flight.
 */
function gateNativeStreams (connection: NativeConnection): Map<unknown, NativeHooks> {
  const gates = new Map<unknown, NativeHooks>()
  const gated = (open: () => Promise<NativeStream>) => async (): Promise<NativeStream> => {
    const stream = await open()
    if (typeof stream.read !== 'function' || typeof stream.write !== 'function' || typeof stream.id !== 'function') {
      throw new TransportInternalsChanged('a native QUIC stream', 'read(size), write(bytes) and id()')
    }
    const gate = new ReadGate()
    const read = stream.read.bind(stream)
    stream.read = async size => {
      await gate.passed()
      return await read(Math.max(size, QUIC_READ_SIZE))
    }
    let writing = 0
    const write = stream.write.bind(stream)
    // Settled (the count down) before the QuicStream's own `then` runs, which signals drain.
    stream.write = async bytes => {
      writing++
      try {
        await write(bytes)
      } finally {
        writing--
      }
    }
    gates.set(stream.id(), { gate, writing: () => writing })
    return stream
  }
  connection.inboundStream = gated(connection.inboundStream.bind(connection))
  connection.outboundStream = gated(connection.outboundStream.bind(connection))
  return gates
}

/** Makes pause() hold, and resume(), closeRead() and the close open, each stream's read gate. */
function holdWhilePaused (muxer: StreamMuxer, gates: Map<unknown, NativeHooks>, log: Logger): StreamMuxer {
  // Registered before libp2p's Connection adds its own listener, so before anyone can pause.
  muxer.addEventListener('stream', event => {
    try {
      claimGate(event.detail, gates)
    } catch (err) {
      log.error('inbound stream %s left without flow control - %e', event.detail.id, err)
      event.detail.abort(err as Error)
    }
  })
  const createStream = muxer.createStream.bind(muxer)
  muxer.createStream = async options => claimGate(await createStream(options), gates)
  return muxer
}

function claimGate (stream: Stream, gates: Map<unknown, NativeHooks>): Stream {
  const hooksOfNative = gates.get(stream.id)
  if (hooksOfNative === undefined) throw new TransportInternalsChanged(`QUIC stream ${stream.id}`, 'native stream of the same id')
  gates.delete(stream.id)
  const { gate, writing } = hooksOfNative
  tellWhenReleased(stream, () => stream.writeBufferLength === 0 && writing() === 0)
  // Overridden on this instance only: the class's own versions do nothing (pause, resume) or
  // only mark the read side closed (closeRead), which the read loop learns of after its read.
  const hooks = stream as unknown as Partial<FlowHooks>
  if (typeof hooks.sendPause !== 'function' || typeof hooks.sendResume !== 'function' || typeof hooks.sendCloseRead !== 'function') {
    throw new TransportInternalsChanged(`QUIC stream ${stream.id}`, 'sendPause, sendResume and sendCloseRead')
  }
  const closeRead = hooks.sendCloseRead.bind(stream)
  hooks.sendPause = () => { gate.hold() }
  hooks.sendResume = () => { gate.open() }
  // The read loop must go on after closeRead, to see the peer's FIN; it discards what it reads.
  hooks.sendCloseRead = async options => {
    const closing = closeRead(options)
    gate.open()
    await closing
  }
  stream.addEventListener('close', () => { gate.open() }, { once: true })
  if (stream.readStatus === 'paused') gate.hold()
  return stream
}
