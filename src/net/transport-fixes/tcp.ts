import { Socket } from 'node:net'
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp'
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { SLICE_MS } from '../../../store/yielder.js'
import { TransportInternalsChanged } from './errors.js'

/**
 * How long the TCP connections' reads may run in one turn of the event loop, all together, before
 * those still reading wait for the next turn, in milliseconds: the slice long loops keep to.
 */
export const TCP_READ_SLICE_MS = SLICE_MS

/*
 * Why: libuv reads a ready socket up to 32 times per turn of the event loop, 64 KiB each, and
 * @libp2p/tcp 11.0.28 (pinned, versions.ts) hands each read synchronously to noise, yamux and the
 * streams' readers. A peer that sends one-byte yamux frames (31 bytes each with noise's framing)
 * makes those 2 MiB about 67,000 frames, each decrypted, parsed and dispatched as an event: on a
 * slow machine one turn took over a second, in which the node answered nobody
 * (test/src/node/fair-share.test.ts; docs/architecture.md, "Transport fixes"). Here, once the
 * reads of this turn have run TCP_READ_SLICE_MS, a connection whose socket delivers a read pauses
 * it until the next turn: a turn then holds the slice, plus one read per connection that reads
 * after it.
 *
 * What it relies on, checked for each connection (TransportInternalsChanged otherwise): the
 * transport hands every connection it dials or accepts to the upgrader it was given
 * (`upgradeOutbound`, `upgradeInbound`) in the same turn it made it, and such a connection keeps
 * its net.Socket as `socket` and says `readStatus` 'paused' while its own reader holds it back (it
 * then pauses and resumes the socket itself). Only this transport's connections are touched.
 */

/** When the first sliced read of the current turn began; -1 between turns. */
let turnBegan = -1
const endTurn = (): void => { turnBegan = -1 }

/** The connections sliceReads watches (readsInSlices). */
const sliced = new WeakSet<object>()

/** `tcp(options)` whose connections read at most `sliceMs` per turn of the event loop, together. */
export function tcpWithReadSlices (options: TCPOptions = {}, sliceMs = TCP_READ_SLICE_MS): (components: TCPComponents) => Transport {
  const make = tcp(options)
  const wrapped = new WeakMap<Upgrader, Upgrader>()
  /** `upgrader`, but each connection it upgrades reads in slices first. */
  const slicing = (upgrader: Upgrader): Upgrader => {
    let wrapper = wrapped.get(upgrader)
    if (wrapper === undefined) {
      wrapper = new Proxy(upgrader, {
        get (target, property) {
          if (property === 'upgradeInbound' || property === 'upgradeOutbound') {
            const upgrade = target[property].bind(target) as (maConn: MultiaddrConnection, ...rest: unknown[]) => Promise<unknown>
            return async (maConn: MultiaddrConnection, ...rest: unknown[]) => {
              sliceReads(maConn, sliceMs)
              return await upgrade(maConn, ...rest)
            }
          }
          const value: unknown = Reflect.get(target, property, target)
          return typeof value === 'function' ? value.bind(target) : value
        }
      })
      wrapped.set(upgrader, wrapper)
    }
    return wrapper
  }
  return components => {
    const transport = make(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, dialOptions) => await dial(ma, { ...dialOptions, upgrader: slicing(dialOptions.upgrader) })
    transport.createListener = listenOptions => createListener({ ...listenOptions, upgrader: slicing(listenOptions.upgrader) })
    return transport
  }
}

/**
 * Pauses `maConn`'s socket when it delivers a read after this turn's reads (of every sliced
 * connection) have run `sliceMs`, and resumes it in the next turn unless the connection's own
 * reader paused it meanwhile. A paused socket takes what libuv already read into its buffer, up
 * to Node's high-water mark, and Node then stops libuv's loop of reads; resuming hands that on
 * first.
 */
export function sliceReads (maConn: MultiaddrConnection, sliceMs = TCP_READ_SLICE_MS): void {
  const inner = maConn as unknown as { socket?: unknown, readStatus?: unknown }
  const socket = inner.socket
  if (!(socket instanceof Socket)) throw new TransportInternalsChanged('@libp2p/tcp MultiaddrConnection', 'socket (a net.Socket)')
  if (typeof inner.readStatus !== 'string') throw new TransportInternalsChanged('@libp2p/tcp MultiaddrConnection', 'readStatus')
  let resuming = false
  const resume = (): void => {
    resuming = false
    if (inner.readStatus === 'paused' || socket.destroyed) return
    socket.resume()
  }
  // Before the transport's own listener (added when the connection was made), and after it.
  socket.prependListener('data', () => {
    if (turnBegan >= 0) return
    turnBegan = performance.now()
    setImmediate(endTurn)
  })
  socket.on('data', () => {
    if (performance.now() - turnBegan < sliceMs) return
    // Paused again even if a resume is due: the reader's own pause and resume in between would
    // otherwise have the socket read on for the rest of the turn.
    socket.pause()
    if (resuming) return
    resuming = true
    setImmediate(resume)
  })
  sliced.add(maConn)
}

/** Whether sliceReads watches `maConn` (every TCP connection of a node made by createNode). */
export function readsInSlices (maConn: object): boolean {
  return sliced.has(maConn)
}
