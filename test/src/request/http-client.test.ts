import { HttpRequestClient } from '../../../src/request/index.js'
import { requestClientSuite } from './client-suite.js'
import { TestServer } from './test-server.js'

requestClientSuite('http', async init => new HttpRequestClient(init?.maxConnections === undefined ? {} : { maxSocketsPerHost: init.maxConnections }), async () => {
  const server = await TestServer.start()
  return { get connections () { return server.connections }, address: path => `${server.address}${path}`, stop: async () => { await server.stop() } }
})
