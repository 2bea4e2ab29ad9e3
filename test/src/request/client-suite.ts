import assert from 'node:assert/strict'
import { isAvailable, type RequestPlaneClient } from '../../../src/request/index.js'

/**
 * A server of the test routes (test-server.ts: `/echo`, `/bytes?n=`, `/slow?ms=&n=`, `/fail`,
 * `/health`) over one transport, counting the connections it accepted; `address(path)` names a
 * route as that transport's client takes it.
 */
export interface SuiteServer {
  readonly connections: number
  address: (path: string) => string
  stop: () => Promise<void>
}

/**
 * The tests every request plane client passes, whatever its transport. `make` builds a client,
 * `start` a server of the test routes.
 */
export function requestClientSuite (name: string, make: (init?: { maxConnections?: number }) => Promise<RequestPlaneClient>, start: () => Promise<SuiteServer>, options: { skip?: Array<'exhausted'> } = {}): void {
  describe(`request plane client: ${name}`, function () {
    this.timeout(30000)
    let a: SuiteServer
    let b: SuiteServer
    const clients: RequestPlaneClient[] = []
    const client = async (init?: { maxConnections?: number }): Promise<RequestPlaneClient> => { const c = await make(init); clients.push(c); return c }
    const address = (server: SuiteServer, path: string): string => server.address(path)

    beforeEach(async () => { a = await start(); b = await start() })
    afterEach(async () => {
      await Promise.all(clients.splice(0).map(async c => { await c.close({ timeoutMs: 100 }) }))
      await a.stop()
      await b.stop()
    })

    it('counts requests, responses, errors and bytes each way exactly', async () => {
      const c = await client()
      assert.equal(c.transportName, name)
      assert.equal(isAvailable(c.stats()), false)
      for (const size of [10, 20, 30]) assert.equal((await c.sendRequest(address(a, '/echo'), new Uint8Array(size).fill(size), { 'x-request-id': String(size) })).length, size)
      assert.equal((await c.sendRequest(address(a, '/bytes?n=1000'), new Uint8Array(0))).length, 1000)
      await assert.rejects(c.sendRequest(address(a, '/fail'), new Uint8Array(5)), (err: Error & { status?: number }) => err.name === 'RequestFailed' && err.status === 500)
      const gone = address(b, '/echo')
      await b.stop()
      await assert.rejects(c.sendRequest(gone, new Uint8Array(7)))
      await until(() => c.stats().activeConnections === 0, 'the pool takes its connection back')
      const stats = c.stats()
      assert.deepEqual({ ...stats, avgLatencyUs: 0, idleConnections: 0 }, {
        requestsSent: 6, responsesReceived: 5, errors: 1, bytesSent: 10 + 20 + 30 + 5 + 7, bytesReceived: 60 + 1000 + 4, activeConnections: 0, avgLatencyUs: 0, idleConnections: 0
      })
      assert.ok(stats.avgLatencyUs > 0)
      assert.ok(stats.idleConnections >= 1, 'the connection to a stays pooled')
      assert.equal(isAvailable(stats), true)
      b = await start()
    })

    it('a timeout is Timeout, an abort Aborted, each counted as an error', async () => {
      const c = await client()
      await assert.rejects(c.sendRequest(address(a, '/slow?ms=5000&n=10'), new Uint8Array(0), {}, { timeout: 100 }), { name: 'Timeout' })
      const controller = new AbortController()
      setTimeout(() => { controller.abort() }, 100)
      await assert.rejects(c.sendRequest(address(a, '/slow?ms=5000&n=10'), new Uint8Array(0), {}, { signal: controller.signal }), { name: 'Aborted' })
      await assert.rejects(c.sendRequest(address(a, '/echo'), new Uint8Array(1), {}, { signal: AbortSignal.abort() }), { name: 'Aborted' })
      assert.equal(c.stats().errors, 3)
      assert.equal(c.stats().responsesReceived, 0)
    })

    it('close lets in-flight requests finish within its timeout, then fails later calls with ClientClosed; isHealthy is false after', async () => {
      const c = await client()
      assert.equal(c.isHealthy(), true)
      const pending = [c.sendRequest(address(a, '/slow?ms=300&n=100'), new Uint8Array(0)), c.sendRequest(address(a, '/slow?ms=400&n=200'), new Uint8Array(0))]
      await new Promise(resolve => setTimeout(resolve, 50))
      const started = Date.now()
      await c.close({ timeoutMs: 5000 })
      assert.ok(Date.now() - started < 2000)
      assert.deepEqual((await Promise.all(pending)).map(body => body.length), [100, 200])
      assert.equal(c.isHealthy(), false)
      await assert.rejects(c.sendRequest(address(a, '/echo'), new Uint8Array(1)), { name: 'ClientClosed' })
      assert.equal(c.stats().activeConnections + c.stats().idleConnections, 0)
    })

    it('close with a request longer than its timeout ends that request and returns in time', async () => {
      const c = await client()
      // The rejection is expected while close() runs: handle it from the start.
      const slow = assert.rejects(c.sendRequest(address(a, '/slow?ms=10000&n=10'), new Uint8Array(0)))
      await new Promise(resolve => setTimeout(resolve, 50))
      const started = Date.now()
      await c.close({ timeoutMs: 200 })
      assert.ok(Date.now() - started < 2000)
      await slow
      assert.equal(c.stats().errors, 1)
    })

    it('isHealthy is false while the pool is exhausted (requests wait for a connection)', async function () {
      // A multiplexed transport (libp2p) carries any number of requests on its one connection per peer.
      if (options.skip?.includes('exhausted') === true) this.skip()
      const c = await client({ maxConnections: 1 })
      const first = c.sendRequest(address(a, '/slow?ms=300&n=1'), new Uint8Array(0))
      const second = c.sendRequest(address(a, '/slow?ms=10&n=1'), new Uint8Array(0))
      await new Promise(resolve => setTimeout(resolve, 50))
      assert.equal(c.isHealthy(), false)
      await Promise.all([first, second])
      assert.equal(c.isHealthy(), true)
    })

    it('warm-up connects to a newly listed instance before its first request', async () => {
      const c = await client()
      const controller = new AbortController()
      let push: ((list: string[]) => void) | undefined
      async function * lists (): AsyncGenerator<string[]> {
        while (true) yield await new Promise<string[]>(resolve => { push = resolve })
      }
      const send = async (list: string[]): Promise<void> => {
        await until(() => push !== undefined)
        const to = push as (list: string[]) => void
        push = undefined
        to(list)
      }
      const warming = c.startWarmup(lists(), controller.signal)
      await send([address(a, '/')])
      await until(() => a.connections === 1)
      assert.equal(b.connections, 0)
      await send([address(a, '/'), address(b, '/')])
      await until(() => b.connections === 1 && c.stats().idleConnections === 2, `b warmed: ${JSON.stringify(c.stats())}`)
      assert.equal(c.stats().requestsSent, 0, 'warm-up is not a request')
      assert.equal((await c.sendRequest(address(b, '/echo'), new Uint8Array(3))).length, 3)
      assert.equal(b.connections, 1, 'the first request used the warmed connection')
      assert.equal(a.connections, 1)
      controller.abort()
      await warming
    })
  })
}

async function until (check: () => boolean, what = 'a condition', ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
