// Fetch what a ticket names (from `verity send`, `verity ticket`, or node.ticket() in a program)
// into a store on disk, then write it out: one blob to a file, or a collection's files into a
// directory. Run it again after Ctrl-C and it fetches only what is still missing.
//
//   node examples/fetch-ticket.mjs <ticket> <output path> [data dir]
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { BlobTicket, createNode, safeName, toHex } from 'verity-blobs'

const [text, output, dataDir = join(tmpdir(), 'verity-example-store')] = process.argv.slice(2)
if (text === undefined || output === undefined) {
  console.error('usage: node examples/fetch-ticket.mjs <ticket> <output path> [data dir]')
  process.exit(2)
}
const ticket = BlobTicket.parse(text) // a pasted newline or upper case is fine; InvalidTicket if not a ticket

const node = await createNode({ dataDir, listen: [] }) // dials out only
const controller = new AbortController()
process.once('SIGINT', () => controller.abort())
try {
  const started = performance.now()
  const result = await node.remote.fetch(ticket, undefined, {
    signal: controller.signal,
    onProgress: event => {
      if (event.type === 'fetch:local') console.log(`already here: ${event.detail.localBytes} of ${event.detail.total ?? 'unknown'} bytes`)
    }
  })
  const seconds = (performance.now() - started) / 1000
  console.log(`fetched ${result.bytesWritten} bytes in ${seconds.toFixed(2)} s, complete: ${result.complete}`)

  if (ticket.format === 'raw') {
    await writeFile(output, await node.blobs.getBytes(ticket.hash))
    console.log(`wrote ${output} (${toHex(ticket.hash)})`)
  } else {
    // A collection: a HashSeq whose first blob names the others.
    await mkdir(output, { recursive: true })
    for (const entry of await node.blobs.readCollection(ticket.hash)) {
      const path = join(output, ...entry.name.split('/').map(safeName))
      await mkdir(join(path, '..'), { recursive: true })
      await writeFile(path, await node.blobs.getBytes(entry.hash))
      console.log(`wrote ${path}`)
    }
  }
} finally {
  await node.stop()
}
