/**
 * One store operation in a fresh process, so its peak RSS is its own. Prints one JSON line:
 * { seconds, bytes, maxRssMB }.
 *   addFile <store dir> <file>
 *   addFileInPlace <store dir> <file>      (mode 'reference': hashed where it is, `verity add --in-place`)
 *   importBao <store dir> <encoded file> <hash hex>
 */
import { createReadStream } from 'node:fs'
import { FsStore } from '../store/fs-store.js'
import { fromHex } from '../store/hash-text.js'
import { ChunkRanges } from '../store/ranges/chunk-ranges.js'
import { peakRssMB } from './measure.js'

const [op, dir, file, hex] = process.argv.slice(2) as [string, string, string, string | undefined]
const store = await FsStore.open(dir)
const start = process.hrtime.bigint()
let bytes = 0
if (op === 'addFile') {
  bytes = (await store.addFile(file)).size
} else if (op === 'addFileInPlace') {
  bytes = (await store.addFile(file, { mode: 'reference' })).size
} else if (op === 'importBao') {
  const hash = fromHex(hex as string)
  await store.importBao(hash, ChunkRanges.all(), createReadStream(file, { highWaterMark: 1 << 20 }))
  const status = await store.status(hash)
  if (status.status !== 'complete') throw new Error(`import ended ${status.status}`)
  bytes = status.size
} else {
  throw new Error(`unknown operation ${op}`)
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9
await store.close()
process.stdout.write(JSON.stringify({ seconds, bytes, maxRssMB: peakRssMB() }) + '\n')
