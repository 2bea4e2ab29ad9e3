import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { defaultCore } from '../../../store/bao/core.js'
import { NativeCore } from '../../../store/bao/native-core.js'
import { PortableCore } from '../../../store/bao/portable-core.js'
import { WasmCore } from '../../../store/bao/wasm-core.js'
import { randomBytes, toHex } from '../../helpers.js'
import { arbCounter } from './cores.js'

const portable = new PortableCore()
const wasm = WasmCore.create()
/** What the build could use: a C compiler and the running Node's headers (native/build.ts looks the same way). */
const buildable = spawnSync(process.env.CC ?? 'cc', ['--version']).status === 0 &&
  [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')].some(dir => dir !== undefined && existsSync(join(dir, 'include', 'node', 'node_api.h')))
/** Set, these steer the choice away from the widest native kernel on purpose. */
const steered = process.env.VERITY_BLAKE3_CORE !== undefined || process.env.VERITY_NATIVE_LANES !== undefined
const wide = process.arch === 'x64' && existsSync('/proc/cpuinfo') && /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))

describe('native BLAKE3 kernel (store/bao/native)', function () {
  this.timeout(60000)

  it('is built and chosen by default where a C compiler and Node\'s headers are, on a CPU with AVX2 or AVX-512', function () {
    if (!buildable || !wide || steered) this.skip()
    const core = NativeCore.create()
    assert.match(core.name, /^native-avx(2|512)$/)
    assert.equal(defaultCore().name, core.name)
  })

  describe('against the portable core', () => {
    let native: NativeCore
    before(function () {
      const made = NativeCore.tryCreate()
      if (made === undefined) this.skip()
      native = made as NativeCore
    })

    it('agrees on subtrees of every length, whole powers of two of chunks (its own path) and the rest', () => {
      fc.assert(fc.property(fc.oneof(fc.integer({ min: 1, max: 9 }).map(k => 1024 << k), fc.integer({ min: 0, max: 70 * 1024 })), arbCounter, fc.boolean(), fc.nat(1000), (length, counter, isRoot, seed) => {
        const data = randomBytes(length, seed + 7)
        assert.equal(toHex(native.subtreeCV(data, counter, isRoot)), toHex(portable.subtreeCV(data, counter, isRoot)), `length ${length} counter ${counter}`)
      }), { numRuns: 200, examples: [[16384, 2 ** 32 - 8, false, 1], [2048, 2 ** 32 - 1, true, 2], [1 << 19, 2 ** 32 - 100, false, 3]] })
    })

    it('hashes long inputs that are not a power of two of chunks by BLAKE3\'s split, the left sides natively', () => {
      for (const length of [(1 << 20) - 1, (1 << 20) + 1, (2 << 20) + 1024, (3 << 20) + 5, 5 * 1024 + 1, 3 * 16384]) {
        const data = randomBytes(length, length)
        for (const [start, isRoot] of [[0, true], [2 ** 32 - 4, false]] as const) {
          assert.equal(toHex(native.subtreeCV(data, start, isRoot)), toHex(portable.subtreeCV(data, start, isRoot)), `length ${length} start ${start}`)
        }
      }
    })

    it('agrees on groupCVs for every group log, whole and short last groups, past 1 MiB per call', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: 6 }), fc.oneof(fc.integer({ min: 0, max: 200 * 1024 }), fc.constantFrom((1 << 20) + 16384, 3 << 20)), arbCounter, (groupLog, length, counter) => {
        const start = counter - (counter % 2 ** groupLog)
        const data = randomBytes(length, length + groupLog)
        const groups = Math.max(1, Math.ceil(length / (1024 << groupLog)))
        const a = new Uint8Array(groups * 32)
        const b = new Uint8Array(groups * 32)
        native.groupCVs(data, start, groupLog, a)
        wasm.groupCVs(data, start, groupLog, b)
        assert.equal(toHex(a), toHex(b), `groupLog ${groupLog} length ${length} start ${start}`)
      }), { numRuns: 80 })
    })

    it('agrees on groupTree: pairs in pre-order and in-order, and the subtree value', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: 6 }), fc.nat(7), arbCounter, fc.boolean(), (groupLog, k, counter, inOrder) => {
        const groups = 2 ** Math.min(k, 10 - groupLog)
        const start = counter - (counter % (groups * 2 ** groupLog))
        const data = randomBytes(groups * (1024 << groupLog), groupLog * 10 + k)
        const a = new Uint8Array((groups - 1) * 64)
        const b = new Uint8Array((groups - 1) * 64)
        const cvA = native.groupTree(data, start, groupLog, a, inOrder)
        const cvB = portable.groupTree(data, start, groupLog, b, inOrder)
        assert.equal(toHex(cvA), toHex(cvB))
        assert.equal(toHex(a), toHex(b), `groupLog ${groupLog} groups ${groups} inOrder ${inOrder}`)
      }), { numRuns: 60 })
    })

    it('agrees on groupTreeAsync (groups hashed on libuv\'s threads), several calls in flight at once', async () => {
      const cases = [[4, 64, 0], [4, 64, 2 ** 32 - 64 * 16], [4, 1, 48], [1, 8, 2 ** 40], [6, 16, 0], [4, 128, 128 * 16], [0, 4, 12]] as const
      const runs = cases.map(([groupLog, groups, start], i) => {
        const data = randomBytes(groups * (1024 << groupLog), 900 + i)
        const pairs = new Uint8Array(Math.max(0, groups - 1) * 64)
        return { groupLog, start, data, pairs, cv: native.groupTreeAsync(data, start, groupLog, pairs, i % 2 === 1) }
      })
      for (const [i, run] of runs.entries()) {
        const expected = new Uint8Array(run.pairs.length)
        const cv = portable.groupTree(run.data, run.start, run.groupLog, expected, i % 2 === 1)
        assert.equal(toHex(await run.cv), toHex(cv), `case ${i}`)
        assert.equal(toHex(run.pairs), toHex(expected), `case ${i}: pairs`)
      }
    })

    it('agrees on parents, root and non-root', () => {
      for (let seed = 1; seed <= 50; seed++) {
        const pair = randomBytes(64, seed)
        for (const isRoot of [false, true]) assert.deepEqual(native.parentCV(pair, isRoot), portable.parentCV(pair, isRoot))
      }
      assert.throws(() => native.parentCV(new Uint8Array(63), false), RangeError)
    })

    it('the 8-lane (AVX2) kernel agrees as well, where the CPU runs it (a process told VERITY_NATIVE_LANES=8)', function () {
      if (!wide) this.skip()
      const script = `
        import { NativeCore } from ${JSON.stringify(new URL('../../../store/bao/native-core.js', import.meta.url).href)}
        import { PortableCore } from ${JSON.stringify(new URL('../../../store/bao/portable-core.js', import.meta.url).href)}
        import { randomBytes } from ${JSON.stringify(new URL('../../helpers.js', import.meta.url).href)}
        const native = NativeCore.create(), portable = new PortableCore(), hex = b => Buffer.from(b).toString('hex')
        const out = [native.name]
        for (const [length, start] of [[2048, 0], [16384, 2 ** 32 - 8], [1 << 20, 7 * 1024], [24 * 1024, 48]]) {
          const data = randomBytes(length, length)
          out.push(hex(native.subtreeCV(data, start, false)) === hex(portable.subtreeCV(data, start, false)))
          const a = new Uint8Array(Math.ceil(length / 16384) * 32), b = new Uint8Array(a.length)
          native.groupCVs(data, start - (start % 16), 4, a); portable.groupCVs(data, start - (start % 16), 4, b)
          out.push(hex(a) === hex(b))
        }
        console.log(JSON.stringify(out))`
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, VERITY_NATIVE_LANES: '8' } })
      assert.equal(run.status, 0, run.stderr)
      const [name, ...agreed] = JSON.parse(run.stdout) as [string, ...boolean[]]
      assert.equal(name, 'native-avx2')
      assert.deepEqual(agreed, agreed.map(() => true))
    })

    it('the module refuses calls that would read or write outside what it was given, with a RangeError', () => {
      const module = createRequire(import.meta.url)(fileURLToPath(new URL('../../../store/bao/native/blake3.node', import.meta.url))) as Record<string, (...args: unknown[]) => void>
      const out = new Uint8Array(32)
      const bad: Array<[string, unknown[]]> = [
        ['chunks', [new Uint8Array(1000), 0, new Uint8Array(32)]], // not whole chunks
        ['chunks', [new Uint8Array(0), 0, out]],
        ['chunks', [new Uint8Array(2048), 0, new Uint8Array(63)]], // out too short
        ['chunks', [new Uint8Array(1024), -1, out]],
        ['chunks', [new Uint8Array(1024), 2 ** 53, out]],
        ['chunks', [new Uint8Array(1024), 0.5, out]],
        ['chunks', [new Uint16Array(512), 0, out]],
        ['chunks', ['text', 0, out]],
        ['chunks', []],
        ['parents', [new Uint8Array(65), out, false]],
        ['parents', [new Uint8Array(128), out, false]], // two values do not fit in 32 bytes
        ['parents', [new Uint8Array(128), new Uint8Array(64), true]], // only one pair can be the root
        ['parents', [new Uint8Array(64), out, 'yes']],
        ['subtree', [new Uint8Array(3072), 0, false, out]], // not 2^k chunks
        ['subtree', [new Uint8Array(1024), 0, false, out]], // one chunk: the WebAssembly kernel's
        ['subtree', [new Uint8Array(2048), 0, false, new Uint8Array(31)]],
        ['hashGroups', [new Uint8Array(3072), 0, 1, out]], // not whole groups of 2 chunks
        ['hashGroups', [new Uint8Array(0), 0, 1, out]],
        ['hashGroups', [new Uint8Array(4096), 0, 1, out]], // two values do not fit in 32 bytes
        ['hashGroups', [new Uint8Array(2048), 0, 0, out]], // groupLog 0: single chunks are not its
        ['hashGroups', [new Uint8Array(2048), 0, 21, out]],
        ['hashGroups', [new Uint8Array(2048), -1, 1, out]],
        ['hashGroups', [new Uint16Array(1024), 0, 1, out]],
        ['hashGroups', [new Uint8Array(2048), 0, 1]]
      ]
      for (const [fn, args] of bad) assert.throws(() => (module[fn] as (...a: unknown[]) => void)(...args), RangeError, `${fn}(${args.map(a => a instanceof Uint8Array ? `${a.length} bytes` : String(a)).join(', ')})`)
    })
  })
})
