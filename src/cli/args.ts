import { parseArgs as parseNodeArgs, type ParseArgsConfig } from 'node:util'
import { nearest } from './suggest.js'

/** A command line that cannot be run as written: exit 2. */
export class UsageError extends Error {
  static override name = 'UsageError'
  /** The command whose usage was broken (set by main), for the `verity <command> --help` hint. */
  command: string | undefined
  constructor (message: string, command?: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}

export interface FlagSpec {
  /** Takes a value (`--name value` or `--name=value`). */
  value?: boolean
  /** May be given more than once (values collected in order). */
  many?: boolean
  /** One-letter alias, without the dash. */
  short?: string
}

export interface Parsed {
  positionals: string[]
  /** Each flag given, with its values in order ('' for a flag that takes none). */
  flags: Map<string, string[]>
}

/** Flags every command takes. */
export const COMMON_FLAGS: Record<string, FlagSpec> = {
  'data-dir': { value: true },
  json: {},
  quiet: { short: 'q' },
  'no-progress': {},
  verbose: { short: 'v' }
}

type Options = NonNullable<ParseArgsConfig['options']>
type Token = NonNullable<ReturnType<typeof parseNodeArgs<ParseArgsConfig>>['tokens']>[number]

/** Node's tokens for a command line: its arguments, split into options (with values) and positionals. */
const tokensOf = (config: ParseArgsConfig): Token[] => parseNodeArgs(config).tokens ?? []

/** What node's parser is told about our flags: a value makes a string option, `many` a multiple one. */
function nodeOptions (specs: Record<string, FlagSpec>): Options {
  const options: Options = {}
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = {
      type: spec.value === true ? 'string' : 'boolean',
      ...(spec.many === true ? { multiple: true } : {}),
      ...(spec.short === undefined ? {} : { short: spec.short })
    }
  }
  return options
}

/** The codes of node's parseArgs errors that are about the command line (not about our options). */
const PARSE_ERRORS = new Set(['ERR_PARSE_ARGS_UNKNOWN_OPTION', 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'])

const isParseError = (err: unknown): err is Error & { code: string } =>
  err instanceof Error && PARSE_ERRORS.has((err as NodeJS.ErrnoException).code ?? '')

/**
 * A value in the next argument that starts with a dash (`--timeout -5`, `--data-dir --json`):
 * node's strict mode calls it ambiguous and wants `--timeout=-5`; we take it, as the CLI always
 * has, so a tag or a path may start with a dash and `--timeout -5` meets --timeout's own message.
 */
const dashValue = (token: Token): boolean =>
  token.kind === 'option' && token.inlineValue === false && token.value.length > 1 && token.value.startsWith('-')

/** `; did you mean --output?` for a long option one typo away from a known one, else ''. */
function didYouMean (token: Token & { kind: 'option' }, specs: Record<string, FlagSpec>): string {
  if (!token.rawName.startsWith('--')) return ''
  const near = nearest(token.name, Object.keys(specs))
  return near === undefined ? '' : `; did you mean --${near}?`
}

/**
 * The first thing wrong with a command line, in the words the CLI has always used, or undefined.
 * Node's messages are its own (and spread over lines), so they are never shown or read: each
 * token names its argument (`index`) and the option as written (`rawName`).
 */
function misuse (tokens: Token[], argv: string[], specs: Record<string, FlagSpec>): string | undefined {
  const seen = new Set<string>()
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    // Own properties only: `--constructor` is not a flag because every object has one.
    const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined
    // The whole argument, as before: `-qx` or `--bogus=1`, not just the part node found unknown.
    if (spec === undefined) return `unknown option ${argv[token.index] as string}${didYouMean(token, specs)}`
    // A short option's value is the next argument: node would read `-o=x` as the path `=x`.
    if (!token.rawName.startsWith('--') && token.inlineValue === true) return `unknown option ${argv[token.index] as string}`
    if (spec.value === true && token.value === undefined) return `${token.rawName} needs a value`
    if (spec.value !== true && token.value !== undefined) return `${token.rawName} takes no value`
    if (seen.has(token.name) && spec.many !== true) return `--${token.name} given twice`
    seen.add(token.name)
  }
  return undefined
}

/**
 * Strict parsing, by node's parseArgs: an unknown flag, a missing value or a value for a flag
 * that takes none is a UsageError, and so is a flag given twice that may be given once. `--`
 * ends the flags; `-` is a positional (stdin, stdout); short flags group (`-qv`) and the last of
 * a group may take the next argument (`-qo out`).
 *
 * Node's errors carry a code but no argument, so on one the line is parsed again, not strictly,
 * for its tokens, and the first misuse among them is the message. When there is none the strict
 * parse refused only values that start with a dash, which we take (dashValue).
 */
export function parseArgs (argv: string[], specs: Record<string, FlagSpec>): Parsed {
  const all = { ...COMMON_FLAGS, ...specs }
  const config = { args: argv, options: nodeOptions(all), allowPositionals: true, tokens: true }
  let tokens: Token[]
  let refused: (Error & { code: string }) | undefined
  try {
    tokens = tokensOf({ ...config, strict: true })
  } catch (err) {
    if (!isParseError(err)) throw err
    refused = err
    tokens = tokensOf({ ...config, strict: false })
  }
  const problem = misuse(tokens, argv, all)
  if (problem !== undefined) throw new UsageError(problem)
  if (refused !== undefined && !(refused.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && tokens.some(dashValue))) {
    // Not reached while misuse() checks all that node checks; should node check more one day,
    // its refusal still ends the command as a usage error.
    throw new UsageError(refused.message.split('\n')[0] as string)
  }
  const positionals: string[] = []
  const flags = new Map<string, string[]>()
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value)
    else if (token.kind === 'option') flags.set(token.name, [...(flags.get(token.name) ?? []), token.value ?? ''])
  }
  return { positionals, flags }
}

export const flag = (parsed: Parsed, name: string): string | undefined => parsed.flags.get(name)?.[0]
export const has = (parsed: Parsed, name: string): boolean => parsed.flags.has(name)
