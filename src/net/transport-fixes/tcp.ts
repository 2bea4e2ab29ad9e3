import { Socket } from 'node:net'
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp'
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { TransportInternalsChanged } from './errors.js'

/**
 * The longest one TCP connection's reads may run in one turn of the event loop before they wait
 * for the next turn, in milliseconds.
 */
export const TCP_READ_SLICE_MS = 10

/*
 * Why: libuv reads a ready socket up to 32 times per turn of the event loop, 64 KiB each, and
 * @libp2p/tcp hands each read synchronously to noise, yamux and the streams' readers. A peer
 * that sends one-byte yamux frames (31 bytes each with noise's framing) makes those 2 MiB
 * about 67,000 frames, each decrypted, parsed and dispatched as an event: on a slow machine
 * one turn took 0.9-1.3 s, in which the node answered nobody (test/src/node/fair-share.test.ts).
 * Here a connection whose reads have run TCP_READ_SLICE_MS in this turn pauses its socket until
 * the next one: the turn then ends after at most the slice and one more read's work.
 *
 * What it relies on, checked for each connection (TransportInternalsChanged otherwise): the
 * transport hands every connection it dials or accepts to the upgrader it was given
 * (`upgradeOutbound`, `upgradeInbound`), and such a connection keeps its net.Socket as `socket`
 * and says `readStatus` 'paused' while its own reader holds it back (it then pauses and resumes
 * the socket itself). Only this transport's connections are touched.
 */

/** `tcp(options)` whose connections read at most TCP_READ_SLICE_MS per turn of the event loop. */
export function tcpWithReadSlices (options: TCPOptions = {}, sliceMs = TCP_READ_SLICE_MS): (components: TCPComponents) => Transport {
  const make = tcp(options)
  return components => {
    const transport = make(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, dialOptions) => await dial(ma, { ...dialOptions, upgrader: slicing(dialOptions.upgrader, sliceMs) })
    transport.createListener = listenOptions => createListener({ ...listenOptions, upgrader: slicing(listenOptions.upgrader, sliceMs) })
    return transport
  }
}

const wrapped = new WeakMap<Upgrader, Upgrader>()

/** `upgrader`, but each connection it upgrades reads in slices first. */
function slicing (upgrader: Upgrader, sliceMs: number): Upgrader {
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

/**
 * Pauses `maConn`'s socket once its reads have run `sliceMs` in this turn of the event loop, and
 * resumes it in the next turn unless the connection's own reader paused it meanwhile. A paused
 * socket takes one more read into its buffer and stops reading (Node stops libuv's loop of reads
 * when the buffer is over its high-water mark); resuming hands that read on first.
 */
export function sliceReads (maConn: MultiaddrConnection, sliceMs = TCP_READ_SLICE_MS): void {
  const inner = maConn as unknown as { socket?: unknown, readStatus?: unknown }
  const socket = inner.socket
  if (!(socket instanceof Socket)) throw new TransportInternalsChanged('@libp2p/tcp MultiaddrConnection', 'socket (a net.Socket)')
  if (typeof inner.readStatus !== 'string') throw new TransportInternalsChanged('@libp2p/tcp MultiaddrConnection', 'readStatus')
  /** When this connection's first read of the current turn began; -1 between turns. */
  let began = -1
  let paused = false
  const endTurn = (): void => { began = -1 }
  const resume = (): void => {
    paused = false
    if (inner.readStatus === 'paused' || socket.destroyed) return
    socket.resume()
  }
  // Before the transport's own listener (added when the connection was made), and after it.
  socket.prependListener('data', () => {
    if (began >= 0) return
    began = performance.now()
    setImmediate(endTurn)
  })
  socket.on('data', () => {
    if (paused || performance.now() - began < sliceMs) return
    paused = true
    socket.pause()
    setImmediate(resume)
  })
}
