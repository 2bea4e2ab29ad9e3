import { HttpRequestClient } from '../../../src/request/index.js'
import { requestClientSuite } from './client-suite.js'

requestClientSuite('http', init => new HttpRequestClient(init?.maxConnections === undefined ? {} : { maxSocketsPerHost: init.maxConnections }), (server, path) => `${server.address}${path}`)
