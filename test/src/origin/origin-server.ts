import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** How a path misbehaves, on command. Counts of requests below are GETs unless said otherwise. */
export interface Misbehaviour {
  /** Answer every request with this status (404, 403, 500...). */
  status?: number
  /** Answer the first `count` GETs with `status` (a 500 then success), with a Retry-After if given. */
  failFirst?: { count: number, status: number, retryAfter?: string }
  /** Close the connection after this many body bytes, in the first `times` GETs (every one if absent), from GET `fromGet` on. */
  resetAfter?: { bytes: number, times?: number, fromGet?: number }
  /** Send this many body bytes, then nothing more while the connection stays open. */
  stallAfter?: number
  /** From the `afterGets`-th GET on, the file is another version: its ETag (and its bytes) change. */
  changeAfter?: { afterGets: number }
  /** Send `bytes` more than the Content-Length says, straight on the socket. */
  extraBytes?: number
  /** Say the range's Content-Length, send `bytes` fewer, then close. */
  shortBy?: number
  /** Answer a ranged GET with 200 and the whole file. */
  ignoreRange?: boolean
  /** At most this many body bytes per second (per response). */
  rate?: number
  /** Refuse HEAD (405): the size must come from a ranged GET. */
  noHead?: boolean
  /** Answer every request with this redirect. */
  redirect?: { status: number, location: string }
}

export interface Served {
  heads: number
  gets: number
  /** GETs answered 304 or with a body. */
  notModified: number
  /** Body bytes written, all GETs together. */
  bytes: number
  /** The headers of the last request. */
  headers?: Record<string, string | string[] | undefined>
}

/**
 * A real HTTP origin on 127.0.0.1 for the origin tests: files by path with strong ETags, HEAD,
 * single byte ranges (206), If-None-Match (304) and If-Match (412); it counts requests and body
 * bytes per path and misbehaves on command.
 */
export class OriginServer {
  readonly served = new Map<string, Served>()
  private readonly files = new Map<string, { data: Uint8Array, version: number }>()
  private readonly behaviour = new Map<string, Misbehaviour>()
  private readonly redirects = new Map<string, Misbehaviour>()
  private readonly sockets = new Set<Socket>()
  private server: Server | undefined
  port = 0

  static async start (): Promise<OriginServer> {
    const origin = new OriginServer()
    origin.server = createServer((req, res) => { origin.handle(req, res) })
    origin.server.on('connection', socket => {
      origin.sockets.add(socket)
      socket.once('close', () => origin.sockets.delete(socket))
    })
    await new Promise<void>(resolve => origin.server?.listen(0, '127.0.0.1', resolve))
    origin.port = (origin.server.address() as AddressInfo).port
    return origin
  }

  url (path: string): string {
    return `http://127.0.0.1:${this.port}${path}`
  }

  put (path: string, data: Uint8Array, behaviour: Misbehaviour = {}): string {
    this.files.set(path, { data, version: 1 })
    this.behaviour.set(path, behaviour)
    this.served.set(path, { heads: 0, gets: 0, notModified: 0, bytes: 0 })
    return this.url(path)
  }

  /** A path with no file that answers with a redirect. */
  redirect (path: string, status: number, location: string): string {
    this.redirects.set(path, { redirect: { status, location } })
    return this.url(path)
  }

  misbehave (path: string, behaviour: Misbehaviour): void {
    this.behaviour.set(path, behaviour)
  }

  stats (path: string): Served {
    return this.served.get(path) ?? { heads: 0, gets: 0, notModified: 0, bytes: 0 }
  }

  async stop (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>(resolve => this.server?.close(() => { resolve() }))
  }

  private handle (req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] as string
    const file = this.files.get(path)
    const how = this.behaviour.get(path) ?? this.redirects.get(path) ?? {}
    const stats = this.served.get(path) ?? { heads: 0, gets: 0, notModified: 0, bytes: 0 }
    this.served.set(path, stats)
    const head = req.method === 'HEAD'
    if (head) stats.heads++
    else stats.gets++
    stats.headers = req.headers
    if (how.redirect !== undefined) return void res.writeHead(how.redirect.status, { location: how.redirect.location }).end()
    if (file === undefined) return void res.writeHead(404).end()
    if (how.status !== undefined) return void res.writeHead(how.status).end()
    if (head && how.noHead === true) return void res.writeHead(405).end()
    if (!head && how.failFirst !== undefined && stats.gets <= how.failFirst.count) {
      return void res.writeHead(how.failFirst.status, how.failFirst.retryAfter === undefined ? {} : { 'retry-after': how.failFirst.retryAfter }).end()
    }
    if (!head && how.changeAfter !== undefined && stats.gets > how.changeAfter.afterGets && file.version === 1) {
      file.version = 2
      file.data = file.data.map(byte => byte ^ 0xff)
    }
    const etag = `"v${file.version}-${file.data.length}"`
    const size = file.data.length
    if (req.headers['if-none-match'] === etag) {
      stats.notModified++
      return void res.writeHead(304, { etag }).end()
    }
    if (req.headers['if-match'] !== undefined && req.headers['if-match'] !== etag) return void res.writeHead(412).end()
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    let start = 0
    let end = size - 1
    let status = 200
    if (range !== null && how.ignoreRange !== true) {
      start = Number(range[1])
      end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1)
      if (start >= size) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end()
      status = 206
    }
    const length = Math.max(0, end - start + 1)
    res.writeHead(status, {
      etag,
      'content-length': String(length),
      'accept-ranges': 'bytes',
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {})
    })
    if (head) return void res.end()
    const body = file.data.subarray(start, start + length)
    void this.send(req, res, body, how, stats)
  }

  private async send (req: IncomingMessage, res: ServerResponse, body: Uint8Array, how: Misbehaviour, stats: Served): Promise<void> {
    const socket = req.socket
    let limit = body.length
    if (how.shortBy !== undefined) limit = Math.max(0, body.length - how.shortBy)
    const resets = how.resetAfter !== undefined && (how.resetAfter.times === undefined || stats.gets <= how.resetAfter.times) && stats.gets >= (how.resetAfter.fromGet ?? 0)
    const reset = resets ? how.resetAfter?.bytes : undefined
    if (reset !== undefined) limit = Math.min(limit, reset)
    if (how.stallAfter !== undefined) limit = Math.min(limit, how.stallAfter)
    const step = how.rate === undefined ? 256 << 10 : Math.max(1, Math.floor(how.rate / 20))
    for (let at = 0; at < limit; at += step) {
      if (res.destroyed) return
      const part = body.subarray(at, Math.min(limit, at + step))
      stats.bytes += part.length
      if (!res.write(part)) {
        await new Promise<void>(resolve => {
          const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
          res.once('drain', done)
          res.once('close', done)
        })
      }
      if (how.rate !== undefined) await new Promise(resolve => setTimeout(resolve, 50))
    }
    if (how.stallAfter !== undefined && limit < body.length) return // hold the connection open, silent
    if (limit < body.length) {
      socket.destroy()
      return
    }
    if (how.extraBytes !== undefined) {
      res.end(() => { if (!socket.destroyed) socket.write(new Uint8Array(how.extraBytes as number).fill(0x41)) })
      stats.bytes += how.extraBytes
      return
    }
    res.end()
  }
}
