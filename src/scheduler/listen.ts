import { createServer, type Server } from 'node:http'
import type { Scheduler } from './scheduler.js'
import { schedulerHandler } from './server.js'

/** The scheduler's default address (Dragonfly's SuperNode port), local unless asked otherwise. */
export const SCHEDULER_HOST = '127.0.0.1'
export const SCHEDULER_PORT = 8002

/** Longest a client may take to send one request, headers and body (a client that drips is cut off). */
export const REQUEST_TIMEOUT_MS = 30000

/** An HTTP server answering the API over `scheduler`, listening; its URL (`http://host:port`). */
export async function listenScheduler (scheduler: Scheduler, address: { host?: string, port?: number } = {}): Promise<{ server: Server, url: string, close: () => Promise<void> }> {
  const server = createServer(schedulerHandler(scheduler))
  server.requestTimeout = REQUEST_TIMEOUT_MS
  server.headersTimeout = REQUEST_TIMEOUT_MS
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port ?? SCHEDULER_PORT, address.host ?? SCHEDULER_HOST, () => { server.off('error', reject); resolve() })
  })
  const bound = server.address()
  const url = typeof bound === 'object' && bound !== null ? `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` : String(bound)
  return {
    server,
    url,
    close: async () => {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
