import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verity } from '../cli-process.js'

describe('verity scheduler and get --scheduler: usage', function () {
  this.timeout(60000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-scheduler-cli-')) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  const usage = async (args: string[], message: RegExp): Promise<void> => {
    const run = await verity([...args, '--data-dir', dir])
    assert.equal(run.status, 2, run.stderr)
    assert.match(run.stderr, message)
  }

  it('refuses what cannot be run, exit 2 naming it', async () => {
    await usage(['scheduler', '--http', 'nowhere'], /--http takes \[host:\]port, not nowhere/)
    await usage(['scheduler', '--seed', 'garbage'], /--seed garbage is not a ticket or a multiaddr/)
    await usage(['scheduler', 'extra'], /verity scheduler takes no arguments/)
    await usage(['scheduler', '--peer-expiry', 'soon'], /--peer-expiry takes a duration/)
    await usage(['get', 'http://h/f', '--scheduler', 'ftp://h/'], /--scheduler takes the scheduler's http:\/\/ URL/)
    await usage(['get', 'http://h/f', '--scheduler', 'http://127.0.0.1:1/', '--seed', '/ip4/127.0.0.1/tcp/1'], /--scheduler names the seeds itself/)
    await usage(['get', 'http://h/f', '--seed', '/ip4/127.0.0.1/tcp/1', '--linger', '1s'], /--linger and --listen go with --scheduler/)
    await usage(['get', 'http://h/f', '--scheduler', 'http://127.0.0.1:1/', '--timeout', '5s'], /--timeout does not go with --scheduler/)
    await usage(['get', 'http://h/f', '--scheduler', 'http://127.0.0.1:1/', '--provider', '/ip4/127.0.0.1/tcp/1'], /--provider does not go with --scheduler/)
    await usage(['get', 'b'.repeat(64), '--scheduler', 'http://127.0.0.1:1/'], /--scheduler goes with a URL/)
  })

  it('a scheduler that cannot be reached fails the get with exit 1 naming the error', async () => {
    const run = await verity(['get', 'http://h/f', '--scheduler', 'http://127.0.0.1:1/', '--data-dir', join(dir, 'get'), '-o', join(dir, 'out')])
    assert.equal(run.status, 1)
    assert.equal(run.stderr, 'verity: cannot connect to 127.0.0.1:1: the connection was refused (nothing listens there: check the address, and that the program is running)\n', 'in verity\'s words (Node\'s ECONNREFUSED with -v)')
  })
})
