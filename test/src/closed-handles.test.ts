import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { VERITY_PROTOCOL } from '../../protocol/constants.js'
import { RangeSpecSeq } from '../../protocol/range-spec.js'
import { encodeRequest } from '../../protocol/request.js'
import { gatewayHandler } from '../../src/http/gateway.js'
import { GatewayMetrics } from '../../src/http/metrics.js'
import { createNode } from '../../src/node/create-node.js'
import { BlobTicket } from '../../src/ticket.js'
import { toHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { randomBytes } from '../helpers.js'
import { LOCAL, spawnVerity, startVerity, verity } from './cli-process.js'

/**
 * What Node prints when it closes a FileHandle nobody closed because it was garbage collected: a
 * leak that the fd count alone may miss if a collection happened to run.
 */
const GC_CLOSED = /Closing file descriptor \d+ on garbage collection/

/** Open file descriptors of a process (Linux). */
function fds (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** Waits until `pid` has at most `limit` fds open (or 10 s pass); returns the last count. */
async function settle (pid: number, limit: number): Promise<number> {
  const until = Date.now() + 10000
  let count = fds(pid)
  while (count > limit && Date.now() < until) {
    await sleep(100)
    count = fds(pid)
  }
  return count
}

/**
 * An HTTP client that asks for `path`, takes the first bytes of the body, stops reading (the
 * server's buffers fill and it waits for a drain) and then resets the connection.
 */
async function resetMidBody (port: number, path: string, range?: string): Promise<void> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {}) // the reset is ours
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${range === undefined ? '' : `Range: ${range}\r\n`}\r\n`)
  let received = 0
  await new Promise<void>(resolve => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received >= 256 * 1024) { socket.pause(); resolve() }
    })
  })
  await sleep(100)
  socket.resetAndDestroy()
}

/** This process's open fds whose path contains `part` (a blob's files: its hash). */
function openFiles (part: string): string[] {
  const out: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target.includes(part)) out.push(target)
    } catch {
      // closed while we looked
    }
  }
  return out
}

describe('handles: requesters that go away mid-response leave no file open (processes on 127.0.0.1)', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-handles-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('the gateway drops an HTTP client that stays connected but takes nothing for bodyStallMs, and closes the blob\'s files', async () => {
    const node = await createNode({ dataDir: join(dir, 'stall'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    const server = createServer(gatewayHandler(node, new GatewayMetrics(), [], { bodyStallMs: 300 }))
    try {
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const hex = toHex((await node.blobs.addBytes(randomBytes(24 * 1024 * 1024, 32))).hash)
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write(`GET /blob/${hex} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
      await new Promise<void>(resolve => { socket.once('data', () => { socket.pause(); resolve() }) })
      assert.ok(openFiles(hex).length > 0, 'the reader has the blob open while it sends')
      const connections = async (): Promise<number> => await new Promise(resolve => server.getConnections((_err, n) => { resolve(n) }))
      const until = Date.now() + 5000
      while ((openFiles(hex).length > 0 || await connections() > 0) && Date.now() < until) await sleep(50)
      assert.deepEqual(openFiles(hex), [], 'the blob\'s files are closed')
      assert.equal(await connections(), 0, 'the client was dropped')
      socket.destroy()
    } finally {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
      await node.stop()
    }
  })

  it('100 HTTP clients of verity serve, 100 peers of its provider and 10 control clients go away mid-response: its fd count ends where it started (within 5), no file is left to the GC, and it still serves', async () => {
    const data = randomBytes(24 * 1024 * 1024 + 5, 31)
    writeFileSync(join(dir, 'big.bin'), data)
    const home = join(dir, 'serve')
    const added = await verity(['add', join(dir, 'big.bin'), '--data-dir', home])
    assert.equal(added.status, 0, added.stderr)
    const hex = added.stdout.toString('utf8').split('  ')[0] as string
    const server = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', home, ...LOCAL])
    const requester = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      const url = server.line
      const port = Number(new URL(url).port)
      const whole = async (): Promise<void> => {
        const res = await fetch(`${url}/blob/${hex}`)
        assert.equal(res.status, 200)
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(data)), 'a normal GET')
      }
      await whole()
      const ticket = BlobTicket.parse((await verity(['ticket', hex, '--data-dir', home])).stdout.toString('utf8').trim())
      // One whole response over libp2p first, so the connection and its streams exist before counting.
      const request = encodeRequest({ type: 'get', request: { hash: ticket.hash, ranges: RangeSpecSeq.root(ChunkRanges.all()) } })
      const peerRequest = async (resetAfter: number): Promise<number> => {
        const { stream, release } = await requester.pool.open(ticket, [VERITY_PROTOCOL])
        let received = 0
        try {
          await stream.write(request)
          await stream.closeWrite()
          for await (const piece of stream.source) {
            received += piece.length
            if (received >= resetAfter) {
              stream.abort(new Error('the requester went away'))
              break
            }
          }
        } finally {
          release()
        }
        return received
      }
      assert.ok(await peerRequest(Infinity) > data.length, 'a whole response')
      const before = fds(server.pid)

      // `count` requesters, 10 at a time; then the fd count settles back, and no file was left to the GC.
      const requesters = async (count: number, what: string, one: (i: number) => Promise<void>): Promise<void> => {
        const printed = server.stderr().length
        for (let i = 0; i < count; i += 10) await Promise.all(Array.from({ length: Math.min(10, count - i) }, async (_, j) => { await one(i + j) }))
        const after = await settle(server.pid, before + 5)
        process.stdout.write(`      serve fds: ${before} before, ${after} after ${count} ${what}\n`)
        assert.ok(after <= before + 5, `${what}: fds went from ${before} to ${after}`)
        assert.doesNotMatch(server.stderr().slice(printed), GC_CLOSED, `${what}: their files were closed, not collected`)
      }
      await requesters(100, 'HTTP clients reset mid-body', async i => { await resetMidBody(port, `/blob/${hex}`, i % 2 === 0 ? undefined : 'bytes=1000000-') })
      await whole()
      await requesters(100, 'peers reset mid-response', async () => { await peerRequest(512 * 1024) })
      // `verity export <hash> -` runs inside serve (its control socket); a client whose stdout
      // stalls and that is then killed leaves serve blocked on a socket that is gone.
      await requesters(10, 'export clients killed mid-blob', async () => {
        const client = spawnVerity(['export', hex, '-', '--data-dir', home])
        await new Promise(resolve => client.stdout?.once('readable', resolve))
        await sleep(200)
        const exited = new Promise(resolve => client.once('exit', resolve))
        client.kill('SIGKILL')
        await exited
      })
      await whole()
      assert.ok(await peerRequest(Infinity) > data.length, 'a whole response after')
    } finally {
      await requester.stop()
      assert.equal(await server.stop(), 0)
    }
  })
})
