/**
 * Creates a node with the options given as JSON in argv[2] (in a fresh data directory) through
 * the package's entry (src/index.ts), stops it, and prints one JSON line: `packages`, those whose
 * modules the process loaded (a module hook, registered before anything else is imported, reports
 * every URL it resolves), and, when creating the node failed, the error's name and message, what
 * the failure left in the data directory (`left`, its entries), and whether the store could be
 * opened again at once (a store that the failure left open is locked). Packages named in the JSON
 * list argv[3] fail to load.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { register } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'

const { port1, port2 } = new MessageChannel()
const urls = new Set<string>()
port1.on('message', (url: string) => { urls.add(url) })
port1.unref()
register('./loaded-hooks.js', { parentURL: import.meta.url, data: { port: port2, refuse: JSON.parse(process.argv[3] ?? '[]') as string[] }, transferList: [port2] })

const { createNode, FsStore } = await import('../../../src/index.js')
const dataDir = mkdtempSync(join(tmpdir(), 'verity-loaded-'))
let failure: object = {}
try {
  const node = await createNode({ ...JSON.parse(process.argv[2] ?? '{}') as object, dataDir })
  await node.stop()
} catch (err) {
  const left = readdirSync(dataDir).sort()
  const reopened = await FsStore.open(join(dataDir, 'store')).then(async store => { await store.close(); return true }, () => false)
  failure = { error: (err as Error).name, message: (err as Error).message, left, reopened }
}
rmSync(dataDir, { recursive: true, force: true })
// Messages from the hooks' thread arrive asynchronously: one more turn for the last of them.
await new Promise(resolve => setTimeout(resolve, 100))
const packages = new Set<string>()
for (const url of urls) {
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (match !== null) packages.add(match[1] as string)
}
process.stdout.write(JSON.stringify({ packages: [...packages].sort(), ...failure }) + '\n')
process.exit(0)
