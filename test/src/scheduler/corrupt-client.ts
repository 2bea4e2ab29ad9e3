/**
 * A client that fetches a URL through a scheduler like any other (verifying every piece it
 * receives) but serves every piece with a flipped byte: a lying peer. Argument: JSON
 * `{ scheduler, url, lingerMs }`. Prints one JSON line once it has the file (`{ pieces, sources }`),
 * serves for lingerMs, then says service/down and exits.
 */
import { createNode } from '../../../src/node/create-node.js'
import { fetchThroughScheduler } from '../../../src/scheduler/fetch-task.js'
import type { BlobStore } from '../../../store/interface.js'
import { MemStore } from '../../../store/mem-store.js'

const spec = JSON.parse(process.argv[2] as string) as { scheduler: string, url: string, lingerMs: number }

/** A store whose encoded responses carry one flipped byte (as test/src/node/peer-child.ts's lying provider). */
function corrupting (store: BlobStore): BlobStore {
  return new Proxy(store, {
    get (target, key, receiver) {
      if (key !== 'exportBao') {
        const value = Reflect.get(target, key, receiver) as unknown
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      }
      return async function * (...args: Parameters<BlobStore['exportBao']>): AsyncGenerator<Uint8Array> {
        let flipped = false
        for await (const piece of target.exportBao(...args)) {
          if (flipped || piece.length < 1024) { yield piece; continue }
          const copy = piece.slice()
          copy[100] = (copy[100] as number) ^ 1
          flipped = true
          yield copy
        }
      }
    }
  })
}

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
