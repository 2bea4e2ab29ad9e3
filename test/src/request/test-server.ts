import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A loopback HTTP server for the request clients' tests: `POST /echo` answers its body,
 * `GET /bytes?n=` n bytes, `/slow?ms=&n=` n bytes after ms, `/fail` 500 "nope", `/health` 200,
 * `/tasks?url=` the url 1000 times (a stand-in seed); it counts the connections it accepted.
 */
export class TestServer {
  connections = 0
  private constructor (private readonly server: Server, readonly address: string) {
    server.on('connection', () => { this.connections++ })
  }

  static async start (): Promise<TestServer> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      const n = Number(url.searchParams.get('n') ?? '0')
      const parts: Buffer[] = []
      req.on('data', (part: Buffer) => parts.push(part))
      req.on('end', () => {
        if (url.pathname === '/echo') return res.end(Buffer.concat(parts))
        if (url.pathname === '/bytes') return res.end(Buffer.alloc(n, 7))
        if (url.pathname === '/fail') { res.statusCode = 500; return res.end('nope') }
        if (url.pathname === '/health') return res.end()
        if (url.pathname === '/tasks') {
          // A stand-in seed: the URL asked for, repeated n times (default 1000).
          return res.end(Buffer.from((url.searchParams.get('url') ?? '').repeat(Number(url.searchParams.get('n') ?? '1000'))))
        }
        if (url.pathname === '/slow') {
          res.write(Buffer.alloc(1, 1))
          const timer = setTimeout(() => res.end(Buffer.alloc(Math.max(0, n - 1), 1)), Number(url.searchParams.get('ms') ?? '0'))
          res.once('close', () => { clearTimeout(timer) })
          return
        }
        res.statusCode = 404
        return res.end()
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return new TestServer(server, `http://127.0.0.1:${port}`)
  }

  async stop (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => { resolve() }))
  }
}
