import { yamux, type YamuxMuxerInit } from '@chainsafe/libp2p-yamux'
import type { StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import { TransportInternalsChanged } from './errors.js'
import { tellWhenReleased } from './release.js'

/*
 * @chainsafe/libp2p-yamux 8.0.1 (pinned, versions.ts) sends a window update after every data
 * frame that uses any of the receive window: one socket write per frame. A peer sending one-byte
 * frames on 8 streams had the receiver spend 55% of its time in socket writes, with event-loop
 * stalls of 1.3 s and 4.5 GB of memory (test/src/node/fair-share.test.ts). go-yamux and
 * hashicorp/yamux send one once half the window is used; so does every stream made here, without
 * patching the package's files (a consumer's npm would not run an install-time patch).
 *
 * What it relies on, checked when a muxer or stream is made (TransportInternalsChanged
 * otherwise): the muxer makes every stream, inbound and outbound, through its `_newStream`; a
 * stream has numeric `state`, `recvWindow` and `recvWindowCapacity`, and `sendWindowUpdate()`,
 * which it calls after each data frame, on resume and to open the stream. StreamState's values
 * are the package's enum: stream.js in the package, not exported.
 *
 * Each stream also tells when the bytes written to it are released (release.ts): a yamux stream
 * hands what it sends to the muxer, which passes it on to the connection below at once; over
 * noise (@chainsafe/libp2p-noise 17.0.0, pinned) that connection encrypts each piece into new
 * buffers as it processes its write queue, and keeps the plaintext only while the queue waits for
 * the socket. So the bytes are released once the stream's write buffer and the encrypted
 * connection's are both empty. Below any other connection (one that may keep the buffers it is
 * given, a plain socket) nothing is registered and written buffers are never reused.
 */

/** StreamState values (stream.js) in which sendWindowUpdate sends no SYN or ACK and is not paused. */
const SYN_SENT = 1
const ESTABLISHED = 3
const FINISHED = 4

/** The YamuxStream fields and method the half-window rule reads and wraps. */
interface WindowInternals { state: number, recvWindow: number, recvWindowCapacity: number, sendWindowUpdate: () => void }

/**
 * The largest receive window a yamux stream grows to here (the package's own is 16 MiB). What a
 * yamux stream receives is decrypted into JavaScript buffers at once, unlike QUIC, whose native
 * side holds what the reader has not taken yet: a window this size is memory the receiver may
 * hold per stream, and bytes held long enough are moved into V8's old generation and freed only
 * by full collections. With 16 MiB, a verified 256 MiB download over TCP on 127.0.0.1 (the
 * reader the slower side) ran full collections all along: 1.66 s of the fetcher's CPU, peak RSS
 * 238 MB, 203 MB/s; with 4 MiB 1.21 s, 177 MB, 245 MB/s (medians of 5, A/B; 2 MiB the same as 4).
 * The cost: one stream moves at most 4 MiB per round trip, 40 MB/s at 100 ms (QUIC, the
 * default transport, allows 10 MB).
 */
export const YAMUX_MAX_STREAM_WINDOW = 4 << 20

/**
 * `yamux(init)` whose streams send a window update once half the receive window is used, with
 * windows of at most YAMUX_MAX_STREAM_WINDOW unless `init` says otherwise.
 */
export function yamuxWithHalfWindowUpdates (init: YamuxMuxerInit = {}): () => StreamMuxerFactory {
  const make = yamux({ ...init, streamOptions: { maxStreamWindowSize: YAMUX_MAX_STREAM_WINDOW, ...init.streamOptions } })
  return () => {
    // The package's own factory object, kept (libp2p reads its protocol and capabilities).
    const factory = make()
    const createStreamMuxer = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = maConn => halfWindowUpdates(createStreamMuxer(maConn), encryptedQueue(maConn))
    return factory
  }
}

/** The write queue of `connection` when it is noise's encrypted stream, which copies what it sends. */
function encryptedQueue (connection: unknown): (() => number) | undefined {
  const noise = connection as { encrypt?: unknown, writeBufferLength?: unknown }
  if (typeof noise.encrypt !== 'function' || typeof noise.writeBufferLength !== 'number') return undefined
  return () => noise.writeBufferLength as number
}

function halfWindowUpdates<M extends StreamMuxer> (muxer: M, queued: (() => number) | undefined): M {
  const internals = muxer as unknown as { _newStream?: (...args: unknown[]) => unknown }
  if (typeof internals._newStream !== 'function') throw new TransportInternalsChanged('the yamux muxer', '_newStream')
  const newStream = internals._newStream.bind(muxer)
  internals._newStream = (...args) => {
    const stream = updateAtHalfWindow(newStream(...args)) as { writeBufferLength: number }
    if (queued !== undefined) tellWhenReleased(stream, () => stream.writeBufferLength === 0 && queued() === 0)
    return stream
  }
  return muxer
}

function updateAtHalfWindow (made: unknown): unknown {
  const stream = made as Partial<WindowInternals>
  for (const field of ['state', 'recvWindow', 'recvWindowCapacity'] as const) {
    if (typeof stream[field] !== 'number') throw new TransportInternalsChanged('a yamux stream', `numeric ${field}`)
  }
  if (typeof stream.sendWindowUpdate !== 'function') throw new TransportInternalsChanged('a yamux stream', 'sendWindowUpdate')
  const window = stream as WindowInternals
  const sendWindowUpdate = window.sendWindowUpdate.bind(window)
  // Checked before the package's own method, as go-yamux orders it: the window's doubling (when
  // half a window went by within 4 round trips) is then judged once per update, not per frame.
  // The first update (SYN or ACK), a paused stream's bookkeeping and a resume past half the
  // window go to the package's method as before.
  window.sendWindowUpdate = () => {
    const flagFree = window.state === SYN_SENT || window.state === ESTABLISHED || window.state === FINISHED
    if (flagFree && window.recvWindow - window.recvWindowCapacity < window.recvWindow / 2) return
    sendWindowUpdate()
  }
  return made
}
