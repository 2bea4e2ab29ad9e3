import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import type { MultiaddrConnection } from '@libp2p/interface'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { readsInSlices, sliceReads, TCP_READ_SLICE_MS } from '../../../src/net/transport-fixes/tcp.js'

/*
 * sliceReads on a real TCP socket pair on 127.0.0.1, with a reader that costs 2 ms per read
 * (as a flood of one-byte frames costs noise and yamux): a connection's reads may not hold the
 * event loop past the slice, the bytes all arrive in order, and a pause of the connection's own
 * reader is left in place.
 */

const READ_COST_MS = 2
const TOTAL = 16 << 20
/**
 * The slice here: shorter than one read. How many reads a turn finds waiting depends on how far
 * the kernel has grown the socket's receive buffer (two, 95 KiB, for this slow reader; up to 32,
 * 2 MiB, for a connection that was read fast before, as in a flood), which a test cannot set; with
 * a slice shorter than one read, any turn with more than one read waiting shows the cut.
 */
const SLICE_MS = 1

function busy (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* a reader's work */ }
}

/** Deterministic bytes, made by this same function here and in the sending process. */
function payload (total: number): Uint8Array {
  const bytes = new Uint8Array(total)
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i >> 12) & 0xff
  return bytes
}

/**
 * The sender is another process, so that the kernel's buffers fill while this one reads (a
 * sender in this process would write only between this process's reads).
 */
function sendFromChild (port: number): void {
  const child = spawn(process.execPath, ['-e', `${payload.toString()}; require('node:net').connect(${port}, '127.0.0.1', function () { this.end(payload(${TOTAL})) })`], { stdio: 'ignore' })
  child.unref()
}

function expected (): string {
  return createHash('sha256').update(payload(TOTAL)).digest('hex')
}

/** The connection object sliceReads sees: the socket and the reader's own read status. */
function connectionOf (socket: Socket): MultiaddrConnection & { readStatus: string } {
  return { socket, readStatus: 'readable' } as unknown as MultiaddrConnection & { readStatus: string }
}

describe('TCP reads in slices (src/net/transport-fixes/tcp.ts)', function () {
  this.timeout(60000)
  let server: Server
  let port: number
  let accepted: Promise<Socket>
  beforeEach(async () => {
    server = createServer()
    accepted = new Promise(resolve => server.once('connection', resolve))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as { port: number }).port
  })
  afterEach(async () => { await new Promise(resolve => server.close(resolve)) })

  /**
   * Sends TOTAL bytes in one write and reads them at 2 ms a read, in slices of `sliceMs` if given:
   * the most reads in one turn of the event loop, and the hash of what arrived. `during` may act
   * on each read.
   */
  async function run (sliceMs: number | undefined, during?: (reads: number, socket: Socket, connection: { readStatus: string }) => void): Promise<{ most: number, pauses: number, hash: string, sent: string }> {
    sendFromChild(port)
    const socket = await accepted
    const connection = connectionOf(socket)
    const hash = createHash('sha256')
    let reads = 0
    let inTurn = 0
    let most = 0
    let received = 0
    let pauses = 0
    socket.on('pause', () => { pauses++ })
    const done = new Promise<void>(resolve => {
      socket.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        received += chunk.length
        reads++
        if (inTurn === 0) setImmediate(() => { inTurn = 0 })
        inTurn++
        most = Math.max(most, inTurn)
        busy(READ_COST_MS)
        during?.(reads, socket, connection)
        if (received === TOTAL) resolve()
      })
    })
    if (sliceMs !== undefined) sliceReads(connection, sliceMs)
    await done
    socket.destroy()
    return { most, pauses, hash: hash.digest('hex'), sent: expected() }
  }

  it('without slices, libuv hands on every read waiting in one turn (what the slice cuts)', async () => {
    const { most, hash, sent } = await run(undefined)
    assert.equal(hash, sent)
    assert.ok(most >= 2, `at most ${most} reads of ${READ_COST_MS} ms in one turn`)
  })

  it(`with slices (${TCP_READ_SLICE_MS} ms for nodes, ${SLICE_MS} ms here), the reads that overrun a slice wait for the next turn; every byte arrives in order`, async () => {
    const { most, pauses, hash, sent } = await run(SLICE_MS)
    assert.equal(hash, sent)
    // The read that overran the slice ends the turn: the paused socket keeps the next for the next turn.
    assert.equal(most, 1, `${most} reads of ${READ_COST_MS} ms in one turn`)
    assert.ok(pauses > 1, `the socket was paused ${pauses} times`)
  })

  it('reads within the slice are not held back: the socket is never paused', async () => {
    const { pauses, hash, sent } = await run(1000)
    assert.equal(hash, sent)
    assert.equal(pauses, 0)
  })

  it('a pause of the connection\'s own reader is left in place: nothing is read until the reader resumes', async () => {
    let held = 0
    let heldAt = -1
    let early = ''
    const { hash, sent } = await run(SLICE_MS, (reads, socket, connection) => {
      if (reads === 20) {
        // What @libp2p/tcp does when its reader pauses: the status, then the socket.
        connection.readStatus = 'paused'
        socket.pause()
        heldAt = performance.now()
        setTimeout(() => {
          held = performance.now() - heldAt
          connection.readStatus = 'readable'
          socket.resume()
        }, 300)
      } else if (heldAt >= 0 && held === 0 && early === '') {
        early = `read ${reads} came ${(performance.now() - heldAt).toFixed(0)} ms into the reader's pause`
      }
    })
    assert.equal(early, '')
    assert.equal(hash, sent)
    assert.ok(held >= 290, `held ${held.toFixed(0)} ms`)
  })

  it('a connection without the socket or the read status it relies on is refused with TransportInternalsChanged', async () => {
    assert.throws(() => { sliceReads({ readStatus: 'readable' } as unknown as MultiaddrConnection) }, { name: 'TransportInternalsChanged', message: /socket/ })
    sendFromChild(port)
    const socket = await accepted
    try {
      assert.throws(() => { sliceReads({ socket } as unknown as MultiaddrConnection) }, { name: 'TransportInternalsChanged', message: /readStatus/ })
    } finally {
      socket.destroy()
    }
  })

  it('a node made by createNode reads each TCP connection in slices, dialled and accepted', async () => {
    const nodes: VerityNode[] = []
    try {
      const a = await createNode()
      nodes.push(a)
      const b = await createNode()
      nodes.push(b)
      const addr = b.addrs().find(ma => ma.toString().includes('/tcp/'))
      assert.ok(addr !== undefined)
      await a.libp2p.dial(addr)
      const raw = (node: VerityNode): object[] => node.libp2p.getConnections().map(connection => (connection as unknown as { maConn: object }).maConn)
      assert.deepEqual(raw(a).map(readsInSlices), [true])
      for (let i = 0; i < 50 && raw(b).length === 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
      assert.deepEqual(raw(b).map(readsInSlices), [true])
    } finally {
      await Promise.all(nodes.map(async node => { await node.stop() }))
    }
  })
})
