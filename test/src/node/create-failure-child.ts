/**
 * Creates a node in a fresh data directory with the options given as JSON in argv[2] and prints
 * one JSON line: `{ created: true }`, or the error's name and whether the store could be opened
 * again at once (a store that the failure left open is locked).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../../src/node/create-node.js'
import { FsStore } from '../../../store/fs-store.js'

const dataDir = mkdtempSync(join(tmpdir(), 'verity-create-failure-'))
let result: object
try {
  const node = await createNode({ ...JSON.parse(process.argv[2] ?? '{}') as object, dataDir })
  await node.stop()
  result = { created: true }
} catch (err) {
  const reopened = await FsStore.open(join(dataDir, 'store')).then(async store => { await store.close(); return true }, () => false)
  result = { error: (err as Error).name, reopened }
}
rmSync(dataDir, { recursive: true, force: true })
process.stdout.write(JSON.stringify(result) + '\n')
process.exit(0)
