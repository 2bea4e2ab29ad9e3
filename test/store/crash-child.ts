/**
 * Child process of the crash test: imports the missing ranges of a blob into an FsStore from an
 * encoded stream, printing `start` and then `received <bytes>` as the stream is consumed, so the
 * parent can kill it mid-import and know how far it got.
 * Arguments: <store dir> <raw data file>.
 */
import { readFileSync } from 'node:fs'
import { FsStore } from '../../store/fs-store.js'
import { MemStore } from '../../store/mem-store.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'

const [dir, dataFile] = process.argv.slice(2) as [string, string]
const source = new MemStore()
const { hash } = await source.addBytes(readFileSync(dataFile))
const store = await FsStore.open(dir)
const missing = ChunkRanges.all().difference((await store.bitfield(hash)).ranges)
let received = 0
async function * counted (stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const bytes of stream) {
    received += bytes.length
    process.stdout.write(`received ${received}\n`)
    yield bytes
  }
}
process.stdout.write('start\n')
const result = await store.importBao(hash, missing, counted(source.exportBao(hash, missing)))
await store.close()
process.stdout.write(`done ${result.complete ? 'complete' : 'partial'}\n`)
