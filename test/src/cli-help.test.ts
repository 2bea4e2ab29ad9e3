import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COMMANDS } from '../../src/cli/command-line.js'
import { distance, nearest } from '../../src/cli/suggest.js'
import { verity } from './cli-process.js'

/** Every option each command's parser takes (the common ones aside), as its --help must name them. */
const OPTIONS: Record<string, string[]> = {
  send: ['--ticket-only', '--copy', '--listen', '--limit-rate', '--serve-all', '--dht', '--bootstrap', '--dht-protocol'],
  get: ['-o', '--provider', '--strategy', '--overwrite', '--no-tag', '--timeout', '--min-rate', '--raw', '--collection', '--seed', '--filter', '--task-tag', '--application', '--header', '--scheduler', '--linger', '--listen', '--dht', '--bootstrap', '--dht-protocol'],
  serve: ['--http', '--listen', '--provider', '--seed', '--seed-allow', '--origin-allow', '--timeout', '--access-log', '--dht', '--bootstrap', '--dht-protocol', '--announce'],
  cat: ['--offset', '--length', '--provider', '--strategy', '--timeout', '--min-rate'],
  preheat: ['--seed', '--status', '--no-wait', '--filter', '--task-tag', '--application', '--header'],
  scheduler: ['--http', '--seed', '--peer-expiry', '--listen'],
  add: ['--in-place', '--tag', '--filter', '--header', '--revalidate'],
  ls: [],
  export: ['--collection', '--overwrite'],
  tag: ['--collection'],
  gc: ['--dry-run'],
  verify: ['--repair'],
  ticket: ['--collection', '--addr'],
  hash: [],
  help: []
}

/** The long options a help text names (`--name`), each once. */
const namedIn = (text: string): string[] => [...new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map(m => `--${m[1] as string}`))]

describe('verity help: every command\'s usage, and the nearest name for a typo', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-help-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('the nearest name is one typo away at most (a third of its length), or the only one it begins', () => {
    assert.equal(distance('sned', 'send'), 1, 'a transposition is one edit')
    assert.equal(distance('', 'abc'), 3)
    assert.equal(distance('kitten', 'sitting'), 3)
    assert.equal(nearest('sned', COMMANDS), 'send')
    assert.equal(nearest('gte', COMMANDS), 'get')
    assert.equal(nearest('verif', COMMANDS), 'verify')
    assert.equal(nearest('overwirte', ['output', 'overwrite']), 'overwrite')
    assert.equal(nearest('frobnicate', COMMANDS), undefined)
    assert.equal(nearest('xyz', COMMANDS), undefined)
  })

  it('every command has its own --help, -h and help <command>, exit 0, naming each of its options', async () => {
    assert.deepEqual([...COMMANDS].sort(), Object.keys(OPTIONS).sort(), 'a command without a row here, or a row without a command')
    for (const command of COMMANDS) {
      const long = await verity([command, '--help'])
      assert.equal(long.status, 0, `${command} --help: ${long.stderr}`)
      const text = long.stdout.toString('utf8')
      assert.ok(text.startsWith(`usage: verity ${command}`), text)
      for (const option of [...OPTIONS[command] as string[], '--data-dir', '--json', '--quiet', '--verbose']) {
        assert.ok(new RegExp(`(^|[^\\w-])${option}([^\\w-]|$)`, 'm').test(text), `${command} --help names ${option}`)
      }
      const short = await verity([command, '-h'])
      const viaHelp = await verity(['help', command])
      assert.deepEqual([short.status, short.stdout.toString('utf8')], [0, text], `${command} -h`)
      assert.deepEqual([viaHelp.status, viaHelp.stdout.toString('utf8')], [0, text], `help ${command}`)
    }
  })

  it('every option a command\'s help names is one its parser takes', async () => {
    const runs: Array<[string, string]> = []
    for (const command of COMMANDS.filter(c => c !== 'help')) {
      const help = (await verity([command, '--help'])).stdout.toString('utf8')
      const usage = help.slice(0, help.indexOf('common options'))
      for (const option of namedIn(usage)) runs.push([command, option])
    }
    // Each alone, with a value: the parser either takes it or says the value is not for it. Two
    // paths that do not exist stop every command after parsing (serve takes none, get and cat
    // one, send and add fail to read them), so none starts serving or fetching. All in one
    // process, through the function the command runs (src/cli/run.ts): a process per option,
    // ~80 of them at ~0.7 s of start-up each, took 33-53 s.
    const lines = runs.map(([command, option], i) => [command, `${option}=1`, join(dir, 'nothing-1'), join(dir, 'nothing-2'), '--data-dir', join(dir, `no-such-store-${i}`)])
    const script = `
      await import(${JSON.stringify(new URL('../../src/node/polyfill.js', import.meta.url).href)})
      const { main } = await import(${JSON.stringify(new URL('../../src/cli/run.js', import.meta.url).href)})
      const { failure } = await import(${JSON.stringify(new URL('../../src/cli/failure.js', import.meta.url).href)})
      const results = []
      for (const line of ${JSON.stringify(lines)}) {
        try {
          results.push({ code: await main(line), line: '' })
        } catch (err) {
          results.push(failure(err, false))
        }
      }
      process.stdout.write(JSON.stringify(results), () => process.exit(0))`
    // Without a heap setting of the caller's: a bad one would fail every command before parsing.
    const { VERITY_HEAP_GROWING_PERCENT: _, ...env } = process.env
    const ran = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000, env })
    assert.equal(ran.status, 0, ran.stderr)
    assert.doesNotMatch(ran.stderr, /unknown option/)
    const results = JSON.parse(ran.stdout) as Array<{ code: number, line: string }>
    assert.equal(results.length, runs.length)
    for (const [i, [command, option]] of runs.entries()) {
      const result = results[i] as { code: number, line: string }
      assert.notEqual(result.code, 0, `${command} ${option}`)
      assert.doesNotMatch(result.line, /unknown option/, `${command} ${option}: ${result.line}`)
    }
    assert.ok(runs.length > 50, `${runs.length} options named`)
  })

  it('verity help and --help list every command; a typo names the nearest command or option, exit 2', async () => {
    const all = await verity(['help'])
    assert.equal(all.status, 0)
    for (const command of COMMANDS) assert.match(all.stdout.toString('utf8'), new RegExp(`^ {2}verity ${command}\\b`, 'm'), command)
    assert.deepEqual((await verity(['--help'])).stdout, all.stdout)
    const typo = await verity(['sned'])
    assert.deepEqual([typo.status, typo.stderr], [2, 'verity: unknown command sned; did you mean send? (verity --help for usage)\n'])
    const option = await verity(['get', 'x', '--overwirte'])
    assert.deepEqual([option.status, option.stderr], [2, 'verity: unknown option --overwirte; did you mean --overwrite? (verity get --help for usage)\n'])
    const none = await verity(['frobnicate'])
    assert.deepEqual([none.status, none.stderr], [2, 'verity: unknown command frobnicate (verity --help for usage)\n'])
    const helpTypo = await verity(['help', 'gte'])
    assert.deepEqual([helpTypo.status, helpTypo.stderr], [2, 'verity: unknown command gte; did you mean get? (verity --help for usage)\n'])
  })

  it('common options may come before the command; any other option there is a usage error', async () => {
    const store = join(dir, 'store-a')
    writeFileSync(join(dir, 'a.txt'), 'a')
    assert.equal((await verity(['--data-dir', store, '-q', 'add', join(dir, 'a.txt')])).status, 0)
    const before = await verity(['--json', '-q', `--data-dir=${store}`, 'ls'])
    assert.deepEqual([before.status, before.stderr], [0, ''])
    assert.equal(JSON.parse(before.stdout.toString('utf8')).type, 'blob', '--json before the command: events')
    const wrong = await verity(['--overwrite', 'get', 'x'])
    assert.equal(wrong.status, 2)
    assert.equal(wrong.stderr, 'verity: unknown option --overwrite before the command (only the common options go there) (verity --help for usage)\n')
    const typo = await verity(['--jsn', 'ls'])
    assert.equal(typo.stderr, 'verity: unknown option --jsn before the command (only the common options go there); did you mean --json? (verity --help for usage)\n')
    const message = await verity(['get'])
    assert.equal(message.stderr, 'verity: get takes one ticket, hash or URL (verity get --help for usage)\n', 'the prefix once')
  })
})
