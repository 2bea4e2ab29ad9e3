/**
 * A client that fetches a URL through a scheduler like any other (verifying every piece it
 * receives) but serves every piece with a flipped byte: a lying peer. Argument: JSON
 * `{ scheduler, url, lingerMs }`. Prints one JSON line once it has the file (`{ pieces, sources }`),
 * serves for lingerMs, then says service/down and exits.
 */
import { createNode } from '../../../src/node/create-node.js'
import { fetchThroughScheduler } from '../../../src/scheduler/fetch-task.js'
import { MemStore } from '../../../store/mem-store.js'
import { corrupting } from '../node/corrupting-store.js'

const spec = JSON.parse(process.argv[2] as string) as { scheduler: string, url: string, lingerMs: number }


const node = await createNode({ store: corrupting(new MemStore()) })
let pieces = 0
const result = await fetchThroughScheduler(node, spec.scheduler, spec.url, {
  lingerMs: spec.lingerMs,
  onPiece: piece => {
    if (piece.ok) pieces++
    if (piece.ok && pieces === 1) process.stdout.write(JSON.stringify({ type: 'first-piece' }) + '\n')
  }
})
process.stdout.write(JSON.stringify({ type: 'done', pieces, sources: result.sources }) + '\n')
await node.stop()
process.exit(0)
