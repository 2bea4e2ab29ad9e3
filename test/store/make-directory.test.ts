import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeDirectory } from '../../store/make-directory.js'
import { rejection } from '../helpers.js'

describe('makeDirectory', () => {
  it('makes each missing directory of a path, and a path already there is fine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-mkdir-'))
    try {
      const deep = join(dir, 'a', 'b', 'c')
      await makeDirectory(deep)
      assert.ok(statSync(deep).isDirectory())
      await makeDirectory(deep)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a file system that says ENOENT with the parent there (/proc) fails at once with that error', async function () {
    if (process.platform !== 'linux') this.skip()
    const started = performance.now()
    const error = await rejection(() => makeDirectory('/proc/verity-cannot-be-here/store'))
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOENT', `${error.name}: ${error.message}`)
    assert.ok(error.message.includes('/proc/verity-cannot-be-here'), error.message)
    assert.ok(performance.now() - started < 5000, 'no loop: it went round until the process ran out of memory')
  })
})
