import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Output, parseArgs, processIo } from '../../src/cli/common.js'
import { randomBytes } from '../helpers.js'
import { verity } from './cli-process.js'

/** What `fn` writes to stderr and stdout, each. */
function capture (fn: () => void): { stderr: string, stdout: string } {
  const written = { stderr: '', stdout: '' }
  const saved = { stderr: process.stderr.write, stdout: process.stdout.write }
  process.stderr.write = ((text: string) => { written.stderr += text; return true }) as typeof process.stderr.write
  process.stdout.write = ((text: string) => { written.stdout += text; return true }) as typeof process.stdout.write
  try {
    fn()
  } finally {
    process.stderr.write = saved.stderr
    process.stdout.write = saved.stdout
  }
  return written
}

/** This process's streams, with stderr taken for a terminal or not. */
const terminal = (isTTY: boolean): ReturnType<typeof processIo> => ({ ...processIo(), stderrIsTTY: isTTY })

describe('verity CLI output: progress, --quiet, --verbose, --json', function () {
  this.timeout(60000)

  it('draws bytes, total, rate and ETA on a terminal, and nothing when stderr is not one or progress is off', () => {
    const started = performance.now() - 2000 // two seconds ago: 1 MiB fetched is 512 KiB/s
    const tty = capture(() => { new Output(parseArgs([], {}), terminal(true)).draw(1 << 20, 4 << 20, started, 1 << 20) })
    assert.match(tty.stderr, /^\r1\.0 MiB \/ 4\.0 MiB {2}25% {2}\d+\.\d KiB\/s {2}ETA \d+s\x1b\[K$/)
    assert.equal(tty.stdout, '')
    for (const [args, isTTY] of [[[], false], [['--no-progress'], true], [['-q'], true], [['--json'], true]] as const) {
      const none = capture(() => { new Output(parseArgs([...args], {}), terminal(isTTY)).draw(1, 2, started, 1) })
      assert.equal(none.stderr, '', `${args.join(' ')} on ${isTTY ? 'a terminal' : 'a pipe'}`)
    }
    const quiet = capture(() => { const out = new Output(parseArgs(['--quiet'], {}), terminal(true)); out.say('hello'); out.result('the result') })
    assert.deepEqual(quiet, { stderr: '', stdout: 'the result\n' }, '--quiet keeps the result, drops the talk')
    const json = capture(() => { const out = new Output(parseArgs(['--json'], {}), terminal(true)); out.say('hello'); out.result('the result'); out.event({ type: 'x' }) })
    assert.deepEqual(json, { stderr: '', stdout: '{"type":"x"}\n' }, '--json: events only on stdout')
  })

  it('-q leaves stderr empty, -v names each file, in real processes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-cli-output-'))
    try {
      mkdirSync(join(dir, 'tree'))
      writeFileSync(join(dir, 'tree', 'one.bin'), randomBytes(5000, 1))
      writeFileSync(join(dir, 'tree', 'two.bin'), randomBytes(7000, 2))
      const quiet = await verity(['add', join(dir, 'tree'), '-q', '--data-dir', join(dir, 'q')])
      assert.deepEqual([quiet.status, quiet.stderr], [0, ''])
      assert.match(quiet.stdout.toString('utf8'), /^[0-9a-f]{64} {2}.*tree\n$/)
      const loud = await verity(['add', join(dir, 'tree'), '-v', '--data-dir', join(dir, 'v')])
      assert.equal(loud.status, 0)
      assert.match(loud.stderr, /^verity: [0-9a-f]{64} {2}tree\/one\.bin$/m)
      assert.match(loud.stderr, /^verity: [0-9a-f]{64} {2}tree\/two\.bin$/m)
      assert.match(loud.stderr, /^verity: added .*tree: a collection of 2 files, 11\.7 KiB, tag auto-/m)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
