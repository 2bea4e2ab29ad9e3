import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

/** `verity hash <file>`'s hash. */
async function hashOf (path: string): Promise<string> {
  return (await verity(['hash', path])).stdout.toString('utf8').slice(0, 64)
}

describe('verity get <collection hash>: the files, not the index', function () {
  this.timeout(120000)
  let dir: string
  let send: Awaited<ReturnType<typeof startVerity>>
  let ticket: string
  let hash: string
  const files: Record<string, Uint8Array> = { 'a.bin': randomBytes(100000, 21), 'sub/b.txt': randomBytes(300, 22) }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-cli-collection-'))
    mkdirSync(join(dir, 'docs', 'sub'), { recursive: true })
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, 'docs', name), bytes)
    // 64 KiB: a raw blob whose size is a multiple of 32, like an index, that is not one.
    writeFileSync(join(dir, 'docs', 'even.bin'), randomBytes(65536, 23))
    send = await startVerity(['send', join(dir, 'docs'), '--json', ...LOCAL])
    const ready = JSON.parse(send.line) as { ticket: string, hash: string }
    ticket = ready.ticket
    hash = ready.hash
  })
  after(async () => {
    await send.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a collection\'s bare hash (with a provider) writes its files; --collection says so at once', async () => {
    for (const [n, extra] of [[1, []], [2, ['--collection']]] as const) {
      const out = join(dir, `out${n}`)
      const ran = await verity(['get', hash, '--provider', ticket, '-o', out, '--data-dir', join(dir, `G${n}`), ...extra])
      assert.equal(ran.status, 0, ran.stderr)
      for (const [name, bytes] of Object.entries(files)) assert.ok(readFileSync(join(out, 'docs', name)).equals(Buffer.from(bytes)), name)
      assert.equal(ran.stderr.includes(`${hash} is a collection: fetching its files`), extra.length === 0, ran.stderr)
      assert.equal(readdirSync(out).join(','), 'docs', 'the files, not a file named after the hash')
    }
  })

  it('--raw writes the index blob itself, from the hash or the collection\'s ticket; a raw blob that looks like one stays a blob', async () => {
    for (const [n, what] of [[1, [hash, '--provider', ticket]], [2, [ticket]]] as const) {
      const index = join(dir, `index${n}.bin`)
      const ran = await verity(['get', ...what, '--raw', '-o', index, '--data-dir', join(dir, `R${n}`)])
      assert.equal(ran.status, 0, ran.stderr)
      assert.equal(statSync(index).size, 32 * 4, 'the names blob and three files')
      assert.equal(await hashOf(index), hash)
    }
    const even = await hashOf(join(dir, 'docs', 'even.bin'))
    const out = join(dir, 'even-out')
    mkdirSync(out)
    const ran = await verity(['get', even, '--provider', ticket, '-o', out, '--data-dir', join(dir, 'E')])
    assert.equal(ran.status, 0, ran.stderr)
    assert.deepEqual(readdirSync(out), [even])
    assert.ok(readFileSync(join(out, even)).equals(readFileSync(join(dir, 'docs', 'even.bin'))))
    const both = await verity(['get', hash, '--raw', '--collection', '--provider', ticket])
    assert.deepEqual([both.status, both.stderr], [2, 'verity: --raw and --collection contradict each other: give one (verity get --help for usage)\n'])
  })
})
