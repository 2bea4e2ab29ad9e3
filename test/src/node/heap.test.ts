import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { HEAP_GROWING_PERCENT, tuneHeap } from '../../../src/node/heap.js'
import { repoRoot } from '../../helpers.js'

const heapModule = pathToFileURL(join(repoRoot, 'dist', 'src', 'node', 'heap.js')).href
const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')

/**
 * The growing factor V8 applied at the last full collection of a child process: V8's own
 * `--trace-gc-verbose` line "[HeapController] Limit: old size: ..., new limit: ... (<factor>)".
 * `--gc-global` makes every collection a full one, so even a short process has some. V8 picks
 * 4.0 by itself in these short processes, so each factor the tests expect tells its cause apart.
 * (Node 20's V8 prints the factor on that line; a later V8 may not, and these tests would say so.)
 */
function lastFactor (nodeFlags: string[], args: string[], env: NodeJS.ProcessEnv = {}): { factor: number | undefined, status: number | null, stdout: string, stderr: string } {
  // The runner's own $VERITY_HEAP_GROWING_PERCENT, if any, is not the test's.
  const { VERITY_HEAP_GROWING_PERCENT: _, ...inherited } = process.env
  const run = spawnSync(process.execPath, ['--trace-gc-verbose', '--gc-global', ...nodeFlags, ...args], { encoding: 'utf8', env: { ...inherited, ...env }, timeout: 60000 })
  const limits = [...run.stdout.matchAll(/\[HeapController\] Limit: old size: \d+ KB, new limit: \d+ KB \(([0-9.]+)\)/g)]
  const last = limits[limits.length - 1]
  return { factor: last === undefined ? undefined : Number(last[1]), status: run.status, stdout: run.stdout, stderr: run.stderr }
}

/** Runs tuneHeap(<percent>) in a child, then collects: the child prints what tuneHeap returned. */
function tunedChild (percent: number, nodeFlags: string[] = []): ReturnType<typeof lastFactor> {
  const script = `import { tuneHeap } from ${JSON.stringify(heapModule)}
const kept = []; for (let i = 0; i < 100000; i++) kept.push({ i })
console.log('tuned ' + tuneHeap(${percent}))
for (let i = 0; i < 100000; i++) kept.push({ i })
console.log(kept.length)`
  return lastFactor(nodeFlags, ['--input-type=module', '-e', script])
}

describe('tuneHeap: V8\'s heap growing factor for long-running nodes (src/node/heap.ts)', function () {
  this.timeout(120000)

  it('sets V8\'s factor to 1 + percent/100 for the collections after it', () => {
    const tuned = tunedChild(250)
    assert.equal(tuned.status, 0, tuned.stderr)
    assert.match(tuned.stdout, /^tuned 250$/m)
    assert.equal(tuned.factor, 3.5, tuned.stdout.slice(-2000))
  })

  it('leaves a process started with --heap-growing-percent of its own alone', () => {
    for (const flag of ['--heap-growing-percent=50', '--heap_growing_percent=50', '-heap-growing-percent=50']) {
      const kept = tunedChild(250, [flag])
      assert.equal(kept.status, 0, kept.stderr)
      assert.match(kept.stdout, /^tuned undefined$/m)
      assert.equal(kept.factor, 1.5, flag)
    }
    assert.equal(tuneHeap(HEAP_GROWING_PERCENT, ['--heap-growing-percent=10']), undefined)
  })

  it('rejects a percent that is not a whole number from 0 to 1000 (RangeError naming it), or not a number (TypeError)', () => {
    for (const bad of [-1, 1.5, 1001, Number.NaN, Infinity]) {
      assert.throws(() => tuneHeap(bad), (err: Error) => err.name === 'RangeError' && err.message.includes(`got ${String(bad)}`), String(bad))
    }
    assert.throws(() => tuneHeap('200' as unknown as number), (err: Error) => err.name === 'TypeError' && err.message === 'percent must be a number, got string')
  })

  describe('the verity command', () => {
    let dir: string
    let file: string
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'verity-heap-'))
      file = join(dir, 'data')
      writeFileSync(file, new Uint8Array(4 << 20).fill(7))
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    it(`runs with percent ${HEAP_GROWING_PERCENT}, $VERITY_HEAP_GROWING_PERCENT's if set (0: V8's own), node's flag over both`, () => {
      const expected = 1 + HEAP_GROWING_PERCENT / 100
      const plain = lastFactor([], [cli, 'hash', file])
      assert.equal(plain.status, 0, plain.stderr)
      assert.match(plain.stdout, / {2}\S+data$/m)
      assert.equal(plain.factor, expected)
      assert.equal(lastFactor([], [cli, 'hash', file], { VERITY_HEAP_GROWING_PERCENT: '150' }).factor, 2.5)
      // 0 hands the factor back to V8's heuristic, which is not the default's.
      assert.notEqual(lastFactor([], [cli, 'hash', file], { VERITY_HEAP_GROWING_PERCENT: '0' }).factor, expected)
      assert.equal(lastFactor(['--heap-growing-percent=50'], [cli, 'hash', file], { VERITY_HEAP_GROWING_PERCENT: '150' }).factor, 1.5)
    })

    it('says what is wrong with a bad $VERITY_HEAP_GROWING_PERCENT (exit 2) and does nothing; --help and --version still work', () => {
      for (const bad of ['x', '-1', '1001', '1.5', ' 200', '0x10']) {
        const run = spawnSync(process.execPath, [cli, 'hash', file], { encoding: 'utf8', env: { ...process.env, VERITY_HEAP_GROWING_PERCENT: bad } })
        assert.equal(run.status, 2, bad)
        assert.equal(run.stdout, '')
        assert.equal(run.stderr, `verity: VERITY_HEAP_GROWING_PERCENT must be a whole number from 0 to 1000, got ${JSON.stringify(bad)} (verity hash --help for usage)\n`)
      }
      for (const asks of [['--help'], ['--version'], ['hash', '--help']]) {
        const run = spawnSync(process.execPath, [cli, ...asks], { encoding: 'utf8', env: { ...process.env, VERITY_HEAP_GROWING_PERCENT: 'x' } })
        assert.equal(run.status, 0, `${asks.join(' ')}: ${run.stderr}`)
      }
    })
  })
})
