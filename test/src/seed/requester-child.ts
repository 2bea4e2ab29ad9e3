/**
 * Child process of the seed tests: one requester node asking one seed for one URL `count` times
 * at once (each with its own value of the filtered query parameter `caller`), each get fetched
 * and exported to `<out dir>/<i>`. Prints one line per get: `got <i> <task id> <hash>`.
 * Arguments: <seed multiaddr> <url> <count> <out dir>.
 */
import { join } from 'node:path'
import { toHex } from '../../../store/hash-text.js'
import { createNode } from '../../../src/node/create-node.js'

const [seed, url, count, outDir] = process.argv.slice(2) as [string, string, string, string]
const node = await createNode()
try {
  await Promise.all(Array.from({ length: Number(count) }, async (_, i) => {
    const result = await node.seeds.get(seed, `${url}?caller=${process.pid}-${i}`, { filter: ['caller'] })
    await node.blobs.exportFile(result.hash, join(outDir, String(i)))
    process.stdout.write(`got ${i} ${result.taskId} ${toHex(result.hash)}\n`)
  }))
} finally {
  await node.stop()
}
