// The HTTP gateway in a server of one's own: alice holds a collection; bob's gateway, a plain
// node:http server, fetches from alice only what each request needs, lists the collection and
// serves its files, every byte verified against the hash before it is sent.
//
//   node examples/gateway.mjs
import { createServer } from 'node:http'
import { createGateway, createNode, toHex } from 'verity-blobs'

const alice = await createNode() // in memory, listening on 127.0.0.1
const bob = await createNode()
const text = value => new TextEncoder().encode(value)
const files = { 'docs/hello.txt': 'hello from alice\n', 'docs/page.html': '<!doctype html><p>a page</p>\n' }
const entries = []
for (const [name, value] of Object.entries(files)) entries.push({ name, hash: (await alice.blobs.addBytes(text(value))).hash })
const { hash } = await alice.blobs.addCollection(entries)

const log = []
const server = createServer(createGateway({
  node: bob,
  providers: [alice.ticket(hash)], // where to fetch what bob does not have
  accessLog: line => log.push(line) // Common Log Format, one line per request
}))
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${server.address().port}/blob/${toHex(hash)}`
try {
  const listing = await (await fetch(`${base}/docs/`, { headers: { accept: 'application/json' } })).json()
  console.log(`listing: ${listing.entries.map(entry => `${entry.name} (${entry.here})`).join(', ')}`)
  const file = await fetch(`${base}/docs/hello.txt`)
  console.log(`${file.status} ${file.headers.get('content-type')}: ${JSON.stringify(await file.text())}`)
  await new Promise(resolve => setTimeout(resolve, 50)) // a line is written once its response has closed
  for (const line of log) console.log(`log: ${line.replace(/\[[^\]]+\]/, '[time]').replace(/blob\/\w+/, 'blob/<hash>')}`)
} finally {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
  await bob.stop()
  await alice.stop()
}
