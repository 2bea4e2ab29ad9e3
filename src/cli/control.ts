import { chmod, lstat, rm } from 'node:fs/promises'
import { connect, createServer, type Socket } from 'node:net'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { VerityNode } from '../node/create-node.js'
import { writeDrained, WritableClosed } from '../net/writable.js'
import { Interrupted, type Output } from './common.js'
import { asksVerbose, failure } from './failure.js'
import { STORE_COMMANDS } from './store-commands.js'

/**
 * The control socket of a running `serve` or `send`: one process holds a data directory's
 * store, so `verity add`, `ls`, `tag`, `gc`, `export` and `verify` started while it runs are
 * run by it, for them. A Unix socket in the data directory, mode 0600: only its user can ask.
 *
 * The client sends one JSON line, `{ argv, cwd, stderrIsTTY }`; the holder answers with frames,
 * a type byte, a 4-byte big-endian length and the payload: 1 stdout bytes, 2 stderr bytes, 3 the
 * exit code (one byte), last. The client closing the socket interrupts the command.
 */
export const CONTROL_SOCKET = 'control.sock'

/** Unix socket paths hold about 107 bytes (sun_path); ours stay below with room to spare. */
const MAX_SOCKET_PATH = 100

/**
 * Where the control socket of a data directory is: inside it, or, for a directory whose path is
 * too long for a socket, in the temp directory under a name made from that path (the socket's
 * own mode 0600 keeps other users out wherever it is).
 */
export function controlPath (dir: string): string {
  const inside = join(resolve(dir), CONTROL_SOCKET)
  if (Buffer.byteLength(inside) <= MAX_SOCKET_PATH) return inside
  const name = createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 24)
  return join(tmpdir(), `verity-${name}.sock`)
}

const STDOUT = 1
const STDERR = 2
const EXIT = 3

function header (type: number, length: number): Uint8Array {
  const out = new Uint8Array(5)
  out[0] = type
  new DataView(out.buffer).setUint32(1, length)
  return out
}

/**
 * A stream whose bytes reach the client as frames of `type`, with the socket's back-pressure.
 * It closes with the socket, so a command writing to it stops (and closes its store reader)
 * when the client goes away instead of waiting for a drain that never comes.
 */
function framed (socket: Socket, type: number): Writable {
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      if (socket.destroyed) { callback(new WritableClosed('the control client went away')); return }
      socket.write(Buffer.concat([header(type, chunk.length), chunk]), err => { callback(err ?? null) })
    }
  })
  socket.once('close', () => { stream.destroy() })
  // A failed write means the client is gone: end the connection, which aborts the command.
  stream.on('error', () => { socket.destroy() })
  return stream
}

interface Request { argv: string[], cwd: string, stderrIsTTY: boolean }

/** Run one client's command on `node`'s store; answers usage errors and failures as the CLI would. */
async function answer (socket: Socket, request: Request, node: VerityNode): Promise<void> {
  const controller = new AbortController()
  socket.once('close', () => { controller.abort(new Interrupted('the client went away')) })
  const stdout = framed(socket, STDOUT)
  const stderr = framed(socket, STDERR)
  let code: number
  try {
    const [name, ...rest] = request.argv
    const command = name === undefined ? undefined : STORE_COMMANDS[name]
    const discovery = node.discovery
    if (command === undefined) throw new Error(`${name ?? 'nothing'} is not a command the running node takes`)
    code = await command(rest, {
      io: { stdout, stderr, stderrIsTTY: request.stderrIsTTY },
      store: node.blobs,
      origins: node.origins,
      ticket: value => node.ticket(value.hash, value.format),
      ...(discovery === undefined ? {} : { announced: (hash: Uint8Array) => discovery.announceState(hash) }),
      signal: controller.signal,
      cwd: request.cwd
    })
  } catch (err) {
    const ended = failure(err, asksVerbose(request.argv.slice(1)))
    stderr.write(ended.line + '\n')
    code = ended.code
  }
  stdout.end()
  stderr.end()
  // Closed early when the client went away: nothing is left to deliver, and no one to tell.
  await Promise.all([finished(stdout), finished(stderr)]).catch(() => {})
  if (!socket.destroyed) socket.end(Buffer.concat([header(EXIT, 1), Uint8Array.of(code)]))
}

/** Listen on the data directory's control socket; the returned function stops and removes it. */
export async function listenControl (dir: string, node: VerityNode): Promise<() => Promise<void>> {
  const path = controlPath(dir)
  // Only the holder of the store's lock gets here: a socket left by a killed holder is stale.
  await rm(path, { force: true })
  const clients = new Set<Socket>()
  const server = createServer(socket => {
    clients.add(socket)
    socket.once('close', () => { clients.delete(socket) })
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf(10)
      if (end === -1) {
        if (head.length > 1 << 20) socket.destroy()
        return
      }
      socket.off('data', onData)
      let request: Request
      try {
        request = JSON.parse(head.subarray(0, end).toString('utf8')) as Request
        if (!Array.isArray(request.argv) || request.argv.some(a => typeof a !== 'string') || typeof request.cwd !== 'string') throw new Error('bad request')
      } catch {
        socket.destroy()
        return
      }
      answer(socket, request, node).catch(() => { socket.destroy() })
    }
    socket.on('data', onData)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => { server.off('error', reject); resolve() })
  })
  await chmod(path, 0o600)
  return async () => {
    // Commands under way are interrupted (their clients hear of it): stopping does not wait for them.
    const closed = new Promise(resolve => server.close(resolve))
    for (const socket of clients) socket.destroy()
    await closed
    await rm(path, { force: true })
  }
}

/**
 * Have the node running on `dir` run `argv` for us: its stdout and stderr come out here, and its
 * exit code is returned. Undefined when no node answers there. Ctrl-C here interrupts it there.
 */
export async function forward (dir: string, argv: string[]): Promise<number | undefined> {
  const path = controlPath(dir)
  // In the shared temp directory another user could have put a socket there first: only ours counts.
  const owner = await lstat(path).then(info => info.isSocket() ? info.uid : undefined, () => undefined)
  if (owner === undefined || owner !== process.getuid?.()) return undefined
  const socket = connect(path)
  const ok = await new Promise<boolean>(resolve => {
    socket.once('connect', () => { resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
  if (!ok) { socket.destroy(); return undefined }
  let interrupted = false
  const onSignal = (): void => { interrupted = true; socket.destroy() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    socket.write(JSON.stringify({ argv, cwd: process.cwd(), stderrIsTTY: process.stderr.isTTY === true }) + '\n')
    let pending: Buffer = Buffer.alloc(0)
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      if (interrupted) break
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1)
        if (pending.length < 5 + length) break
        const type = pending[0]
        const payload = pending.subarray(5, 5 + length)
        pending = pending.subarray(5 + length)
        if (type === EXIT) return payload[0] ?? 1
        const target = type === STDOUT ? process.stdout : process.stderr
        await writeDrained(target, payload)
      }
    }
    if (interrupted) throw new Interrupted('interrupted; the running node stopped the command')
    throw new Error('the running node closed the control socket before the command ended')
  } catch (err) {
    if (interrupted) throw new Interrupted('interrupted; the running node stopped the command')
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    socket.destroy()
  }
}

/**
 * For send and serve: open the control socket next to the store they hold, and return what
 * closes it. Without a socket (the temp directory not writable, say) the node still runs; the
 * store commands then say StoreLocked until it stops.
 */
export async function controlled (dir: string, node: VerityNode, out: Output): Promise<() => Promise<void>> {
  try {
    return await listenControl(dir, node)
  } catch (err) {
    out.say(`note: no control socket for ${dir} (${(err as Error).message}): verity add, ls, tag and gc there must wait until this stops`)
    return async () => {}
  }
}
