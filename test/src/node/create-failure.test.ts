import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { repoRoot } from '../../helpers.js'

const run = promisify(execFile)

/** What create-failure-child.js printed for `options` (its own process: a store left open stays locked there). */
async function create (options: object): Promise<{ created?: boolean, error?: string, reopened?: boolean }> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'dist', 'test', 'src', 'node', 'create-failure-child.js'), JSON.stringify(options)], { timeout: 60000 })
  return JSON.parse(stdout.trim().split('\n').pop() as string) as { created?: boolean, error?: string, reopened?: boolean }
}

describe('createNode that fails leaves its store closed', function () {
  this.timeout(120000)

  it('bad DHT settings: RangeError, checked before the store opens', async () => {
    assert.deepEqual(await create({ dht: { alpha: -1 } }), { error: 'RangeError', reopened: true })
  })

  it('a bad STUN server (found once libp2p is being made): TypeError, the store closed', async () => {
    assert.deepEqual(await create({ reachability: { stun: ['not a server'] } }), { error: 'TypeError', reopened: true })
  })

  it('good options: the node is made (the child reports failures, not its own)', async () => {
    assert.deepEqual(await create({}), { created: true })
  })
})
