import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBLAKE3 } from 'hash-wasm'
import { randomBytes, repoRoot } from '../helpers.js'

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')
const run = (args: string[], input?: Uint8Array): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8' })

describe('verity CLI (child processes)', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('hashes files and stdin like an independent BLAKE3', async () => {
    const reference = await createBLAKE3()
    const data = randomBytes(3 * 1024 * 1024 + 17, 4)
    const file = join(dir, 'blob.bin')
    writeFileSync(file, data)
    reference.init(); reference.update(data)
    const expected = reference.digest('hex')
    const fromFile = run(['hash', file])
    assert.equal(fromFile.status, 0, String(fromFile.stderr))
    assert.equal(fromFile.stdout, `${expected}  ${file}\n`)
    const fromStdin = run(['hash'], data)
    assert.equal(fromStdin.stdout, `${expected}  -\n`)
    // A pipe given as a path hashes as the file does,
    const fromPipe = spawnSync('bash', ['-c', 'cat "$1" | "$2" "$3" hash /dev/stdin', 'bash', file, process.execPath, cli], { encoding: 'utf8' })
    assert.equal(fromPipe.stdout, `${expected}  /dev/stdin\n`, String(fromPipe.stderr))
    // and so does a file that says 0 bytes and holds more.
    reference.init(); reference.update(readFileSync('/proc/version'))
    assert.equal(run(['hash', '/proc/version']).stdout, `${reference.digest('hex')}  /proc/version\n`)
  })

  it('hashes files of every edge size in one run like an independent BLAKE3', async () => {
    const reference = await createBLAKE3()
    const MiB = 1024 * 1024
    const sizes = [0, 1, 1024, 1025, 16 * 1024, 16 * 1024 + 1, MiB - 1, MiB, MiB + 1, 2 * MiB, 4 * MiB + 16 * 1024, 7 * MiB + 3]
    const files = sizes.map((size, i) => {
      const data = randomBytes(size, 40 + i)
      const file = join(dir, `edge-${size}.bin`)
      writeFileSync(file, data)
      reference.init(); reference.update(data)
      return { file, expected: reference.digest('hex') }
    })
    const hashed = run(['hash', ...files.map(f => f.file)])
    assert.equal(hashed.status, 0, String(hashed.stderr))
    assert.equal(hashed.stdout, files.map(f => `${f.expected}  ${f.file}\n`).join(''))
  })

  it('exits 2 on usage errors and 1 on failures, with one line on stderr', () => {
    assert.equal(run([]).status, 2)
    assert.equal(run(['frobnicate']).status, 2)
    assert.equal(run(['hash', '--bogus']).status, 2)
    const missing = run(['hash', join(dir, 'does-not-exist')])
    assert.equal(missing.status, 1)
    assert.equal(String(missing.stderr), `verity: ${join(dir, 'does-not-exist')}: no such file or directory (ENOENT)\n`)
    assert.match(String(run(['--version']).stdout), /^verity \d+\.\d+\.\d+\n$/)
  })
})
