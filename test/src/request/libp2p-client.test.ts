import type { VerityNode } from '../../../src/node/create-node.js'
import { Libp2pRequestClient } from '../../../src/request/libp2p-client.js'
import { requestClientSuite } from './client-suite.js'
import { loopbackNode, startLibp2pServer } from './libp2p-test-server.js'

const nodes: VerityNode[] = []
after(async () => { await Promise.all(nodes.splice(0).map(async node => { await node.stop() })) })

requestClientSuite('libp2p', async init => {
  const node = await loopbackNode()
  nodes.push(node)
  return new Libp2pRequestClient(node.libp2p, init?.maxConnections === undefined ? {} : { maxConnections: init.maxConnections })
}, startLibp2pServer, { skip: ['exhausted'] })
