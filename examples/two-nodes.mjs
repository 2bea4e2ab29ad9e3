// Two nodes in one script: alice adds a blob and makes a ticket, bob fetches it over QUIC on
// 127.0.0.1 and every byte is verified against the hash before bob stores it.
//
//   node examples/two-nodes.mjs
import { createNode, toHex } from 'verity-blobs'

const alice = await createNode() // in memory, listening on 127.0.0.1 (QUIC and TCP)
const bob = await createNode()
try {
  const { hash } = await alice.blobs.addBytes(new TextEncoder().encode('hello from alice, verified by bob'))
  const ticket = alice.ticket(hash) // a BlobTicket: alice's node id, her QUIC addresses, the hash
  console.log(`alice added ${toHex(hash)}`)
  console.log(`ticket ${ticket.toString()}`)

  const result = await bob.remote.fetch(ticket) // a ticket names both the peer and the content
  const text = new TextDecoder().decode(await bob.blobs.getBytes(hash))
  console.log(`bob fetched ${result.bytesWritten} bytes (${result.bytesRead} read, hash pairs included): ${text}`)

  // A second fetch finds everything here and reads nothing from the network.
  const again = await bob.remote.fetch(ticket)
  console.log(`again: ${again.localBytes} bytes already here, ${again.bytesRead} read`)
} finally {
  await bob.stop()
  await alice.stop()
}
