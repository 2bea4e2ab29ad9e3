import assert from 'node:assert/strict'
import { COMMON_FLAGS, flag, has, parseArgs, UsageError, type FlagSpec } from '../../src/cli/args.js'
import { failure } from '../../src/cli/common.js'

/** The flags of `verity get`: a short flag with a value, one given many times, and a boolean. */
const GET: Record<string, FlagSpec> = {
  output: { value: true, short: 'o' },
  provider: { value: true, many: true },
  timeout: { value: true },
  overwrite: {}
}

/** What parseArgs made of `argv`, with the flags as a plain object; or the UsageError's message. */
function parsed (argv: string[], specs = GET): { positionals: string[], flags: Record<string, string[]> } | string {
  try {
    const { positionals, flags } = parseArgs(argv, specs)
    return { positionals, flags: Object.fromEntries(flags) }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    return err.message
  }
}

const ok = (positionals: string[], flags: Record<string, string[]> = {}): ReturnType<typeof parsed> => ({ positionals, flags })

/**
 * Every message and edge case of the CLI's flags, against the parser itself. Beside each case
 * that differs from the hand-written parser node's replaced, what that one did.
 */
const TABLE: Array<[string[], ReturnType<typeof parsed>]> = [
  [[], ok([])],
  [['a', 'b'], ok(['a', 'b'])],
  [[''], ok([''])],
  // Flags anywhere among the positionals; values collected in order; booleans hold ''.
  [['hash', '--data-dir', 'd', '--json', 'x'], ok(['hash', 'x'], { 'data-dir': ['d'], json: [''] })],
  [['--provider', 'a', 'h', '--provider=b'], ok(['h'], { provider: ['a', 'b'] })],
  // --name=value: the value is everything after the first '=', even nothing.
  [['--data-dir=a=b'], ok([], { 'data-dir': ['a=b'] })],
  [['--data-dir=', 'a'], ok(['a'], { 'data-dir': [''] })],
  // `-` alone is a positional (stdin, stdout), also as a value.
  [['-'], ok(['-'])],
  [['-o', '-'], ok([], { output: ['-'] })],
  [['--timeout', '-'], ok([], { timeout: ['-'] })],
  // `--` ends the flags, wherever it is.
  [['--', '--json', '-q', 'x'], ok(['--json', '-q', 'x'])],
  [['a', '--', '-q'], ok(['a', '-q'])],
  [['--', '--'], ok(['--'])],
  // The next argument is a value, dash or not (node's strict mode calls these ambiguous).
  [['--data-dir', '--json'], ok([], { 'data-dir': ['--json'] })],
  [['--timeout', '-5'], ok([], { timeout: ['-5'] })],
  [['--data-dir', '-q', 'x'], ok(['x'], { 'data-dir': ['-q'] })],
  [['--data-dir', '--'], ok([], { 'data-dir': ['--'] })],
  [['-o', '--bogus'], ok([], { output: ['--bogus'] })],
  // Short flags, alone or grouped (the old parser: unknown option -qv); the last may take a value.
  [['-q', '-v'], ok([], { quiet: [''], verbose: [''] })],
  [['-qv'], ok([], { quiet: [''], verbose: [''] })],
  [['-qo', 'x'], ok([], { quiet: [''], output: ['x'] })],
  // Unknown options, named as the argument was written.
  [['--bogus'], 'unknown option --bogus'],
  [['--bogus=1'], 'unknown option --bogus=1'],
  [['-x'], 'unknown option -x'],
  [['-5'], 'unknown option -5'],
  [['-qx'], 'unknown option -qx'],
  [['-xq'], 'unknown option -xq'],
  [['---x'], 'unknown option ---x'],
  [['--=x'], 'unknown option --=x'],
  [['--no-json'], 'unknown option --no-json'],
  [['-q=1'], 'unknown option -q=1'],
  // Not flags just because every object has them (the old parser took these).
  [['--constructor'], 'unknown option --constructor'],
  [['--__proto__'], 'unknown option --__proto__'],
  [['--toString=1'], 'unknown option --toString=1'],
  // A short flag's value is the next argument: `-o=x` is no path named `=x`.
  [['-ofile'], 'unknown option -ofile'],
  [['-o=x'], 'unknown option -o=x'],
  [['-oq'], 'unknown option -oq'],
  [['-qofile'], 'unknown option -qofile'],
  // A value missing at the end.
  [['--data-dir'], '--data-dir needs a value'],
  [['x', '--timeout'], '--timeout needs a value'],
  [['-o'], '-o needs a value'],
  [['-qo'], '-o needs a value'],
  // A value for a flag that takes none.
  [['--json=1'], '--json takes no value'],
  [['--json='], '--json takes no value'],
  [['--quiet=yes'], '--quiet takes no value'],
  // Once only, however it was written (the old parser: unknown option -qq).
  [['--json', '--json'], '--json given twice'],
  [['-q', '--quiet'], '--quiet given twice'],
  [['-qq'], '--quiet given twice'],
  [['-o', 'a', '--output=b'], '--output given twice'],
  [['--data-dir', 'a', '--data-dir=b'], '--data-dir given twice'],
  // The first problem in the line is the one named.
  [['--bogus', '--data-dir'], 'unknown option --bogus'],
  [['--json=1', '--bogus'], '--json takes no value'],
  [['--json', '--json', '--bogus'], '--json given twice'],
  [['--data-dir', '--bogus', '--nope'], 'unknown option --nope'],
  [['--timeout', '-5', '-x'], 'unknown option -x']
]

describe('CLI flags: node:util parseArgs, strict, with the CLI\'s own messages', () => {
  for (const [argv, expected] of TABLE) {
    it(`${JSON.stringify(argv)} -> ${typeof expected === 'string' ? expected : JSON.stringify(expected)}`, () => {
      assert.deepEqual(parsed(argv), expected)
    })
  }

  it('every command takes the common flags; its own come on top, and another command\'s are unknown', () => {
    assert.deepEqual(Object.keys(COMMON_FLAGS), ['data-dir', 'json', 'quiet', 'no-progress', 'verbose'])
    assert.deepEqual(parsed(['--no-progress', '-v', '--data-dir', 'd', '--json', '-q'], {}), ok([], { 'no-progress': [''], verbose: [''], 'data-dir': ['d'], json: [''], quiet: [''] }))
    assert.equal(parsed(['--overwrite'], {}), 'unknown option --overwrite')
    assert.deepEqual(parsed(['--listen', 'a', '--listen', 'b'], { listen: { value: true, many: true } }), ok([], { listen: ['a', 'b'] }))
  })

  it('flag() is the first value, has() whether it was given at all', () => {
    const line = parseArgs(['--provider', 'a', '--provider', 'b', '--data-dir=', '-q'], GET)
    assert.equal(flag(line, 'provider'), 'a')
    assert.equal(flag(line, 'data-dir'), '', 'given empty is not absent')
    assert.equal(flag(line, 'output'), undefined)
    assert.equal(has(line, 'quiet'), true)
    assert.equal(flag(line, 'quiet'), '')
    assert.equal(has(line, 'json'), false)
  })

  it('a usage error ends the command with exit 2 and the usage hint', () => {
    assert.throws(() => parseArgs(['--bogus'], GET), UsageError)
    assert.deepEqual(failure(new UsageError('unknown option --bogus')), { code: 2, line: 'verity: unknown option --bogus (verity --help for usage)' })
    let caught: unknown
    try { parseArgs(['-o'], GET) } catch (err) { caught = err }
    assert.deepEqual(failure(caught), { code: 2, line: 'verity: -o needs a value (verity --help for usage)' })
  })

  it('a flag spec node refuses is a programming error, not the user\'s: it is not a UsageError', () => {
    assert.throws(() => parseArgs([], { output: { value: true, short: 'out' } }), (err: Error & { code?: string }) => {
      assert.ok(!(err instanceof UsageError))
      assert.equal(err.code, 'ERR_INVALID_ARG_VALUE')
      return true
    })
  })
})
