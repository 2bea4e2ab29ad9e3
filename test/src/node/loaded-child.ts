/**
 * Creates a node with the options given as JSON in argv[2], stops it, and prints (one JSON line)
 * the packages whose modules the process loaded: a module hook, registered before anything
 * else is imported, reports every URL it resolves.
 */
import { register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'

const { port1, port2 } = new MessageChannel()
const urls = new Set<string>()
port1.on('message', (url: string) => { urls.add(url) })
port1.unref()
register('./loaded-hooks.js', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] })

const { createNode } = await import('../../../src/node/create-node.js')
const node = await createNode(JSON.parse(process.argv[2] ?? '{}'))
await node.stop()
// Messages from the hooks' thread arrive asynchronously: one more turn for the last of them.
await new Promise(resolve => setTimeout(resolve, 100))
const packages = new Set<string>()
for (const url of urls) {
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (match !== null) packages.add(match[1] as string)
}
process.stdout.write(JSON.stringify([...packages].sort()) + '\n')
process.exit(0)
