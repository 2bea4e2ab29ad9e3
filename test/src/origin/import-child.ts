/**
 * Child process of the origin kill test: imports one URL into the FsStore of a data directory,
 * printing `piece <bytes staged>` as pieces arrive and `done <hash> <fetched> <source>` at the end,
 * so the parent can kill it mid-import and start it again.
 * Arguments: <data dir> <url>.
 */
import { join } from 'node:path'
import { FsStore } from '../../../store/fs-store.js'
import { toHex } from '../../../store/hash-text.js'
import { Origins } from '../../../src/origin/origins.js'

const [dir, url] = process.argv.slice(2) as [string, string]
const store = await FsStore.open(join(dir, 'store'))
const origins = await Origins.create({ store }, { dataDir: dir })
const result = await origins.import(url, {
  onProgress: event => {
    if (event.type === 'origin:resume') process.stdout.write(`resume ${event.detail.staged}\n`)
    if (event.type === 'origin:piece') process.stdout.write(`piece ${event.detail.bytes}\n`)
  }
})
await origins.close()
await store.close()
process.stdout.write(`done ${toHex(result.hash)} ${result.fetched} ${result.source}\n`)
