import { COMMON_FLAGS, UsageError } from './args.js'
import { COMMAND_HELP } from './help.js'
import { nearest } from './suggest.js'

/** What `verity ...` asks for: a command with its arguments, its help, the whole usage, the version. */
export type CommandLine =
  | { kind: 'run', command: string, argv: string[] }
  | { kind: 'help', command?: string }
  | { kind: 'version' }

/** The common flags as they may be written before the command: their long and short forms. */
const GLOBAL_NAMES = new Map<string, { name: string, value: boolean }>()
for (const [name, spec] of Object.entries(COMMON_FLAGS)) {
  GLOBAL_NAMES.set(`--${name}`, { name, value: spec.value === true })
  if (spec.short !== undefined) GLOBAL_NAMES.set(`-${spec.short}`, { name, value: spec.value === true })
}

/** `-qv`: short common flags grouped, none of which takes a value. */
const isGroupedShorts = (arg: string): boolean =>
  /^-[a-zA-Z]{2,}$/.test(arg) && [...arg.slice(1)].every(letter => GLOBAL_NAMES.get(`-${letter}`)?.value === false)

/** Names of the commands, for "did you mean". */
export const COMMANDS = Object.keys(COMMAND_HELP)

/** `unknown command sned; did you mean send?` */
export function unknownCommand (typed: string): UsageError {
  const near = nearest(typed, COMMANDS)
  return new UsageError(`unknown command ${typed}${near === undefined ? '' : `; did you mean ${near}?`}`)
}

/**
 * Reads the start of a command line: common flags before the command (`verity --json ls`) move
 * after it, where the command's parser reads them; `--help`/`-h` anywhere before `--` asks for
 * the command's usage; `help [command]` the same. UsageError for an unknown command (naming the
 * nearest) or an option before the command that is not a common one.
 */
export function readCommandLine (argv: string[]): CommandLine {
  const globals: string[] = []
  let i = 0
  for (; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--help' || arg === '-h') return { kind: 'help' }
    if (arg === '--version') return { kind: 'version' }
    if (arg === '-' || arg === '--' || !arg.startsWith('-')) break
    const known = GLOBAL_NAMES.get(arg.split('=')[0] as string)
    if (known === undefined && !isGroupedShorts(arg)) {
      const near = arg.startsWith('--') ? nearest(arg.slice(2).split('=')[0] as string, Object.keys(COMMON_FLAGS)) : undefined
      throw new UsageError(`unknown option ${arg} before the command (only the common options go there)${near === undefined ? '' : `; did you mean --${near}?`}`)
    }
    globals.push(arg)
    if (known?.value === true && !arg.includes('=')) {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`)
      globals.push(argv[++i] as string)
    }
  }
  const command = argv[i]
  const rest = argv.slice(i + 1)
  if (command === undefined) throw new UsageError('no command')
  if (command === 'help') {
    const asked = rest.find(arg => !arg.startsWith('-'))
    if (asked === undefined) return rest.some(arg => arg === '--help' || arg === '-h') ? { kind: 'help', command } : { kind: 'help' }
    if (!Object.hasOwn(COMMAND_HELP, asked)) throw unknownCommand(asked)
    return { kind: 'help', command: asked }
  }
  if (!Object.hasOwn(COMMAND_HELP, command)) throw unknownCommand(command)
  const end = rest.indexOf('--')
  if ((end === -1 ? rest : rest.slice(0, end)).some(arg => arg === '--help' || arg === '-h')) return { kind: 'help', command }
  return { kind: 'run', command, argv: [...globals, ...rest] }
}
