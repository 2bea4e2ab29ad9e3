import { createReadStream } from 'node:fs'
import { readFileSync } from 'node:fs'
import { OutboardBuilder } from '../../store/bao/outboard.js'
import { HEAP_GROWING_PERCENT, MAX_HEAP_GROWING_PERCENT, tuneHeap } from '../node/heap.js'
import { parseArgs, UsageError } from './args.js'
import { readCommandLine, unknownCommand, type CommandLine } from './command-line.js'
import { commandHelp, USAGE } from './help.js'

/**
 * What the `verity` command runs (main.ts wires it to the process). Exit codes: 0 ok, 1 failure
 * (one line on stderr), 2 usage, 130 interrupted (partial data kept). Each command's module is
 * loaded when it runs: the store commands never load libp2p.
 */

async function hashStream (stream: AsyncIterable<Uint8Array>): Promise<string> {
  const builder = new OutboardBuilder()
  for await (const chunk of stream) builder.update(chunk)
  return Buffer.from(builder.finish().hash).toString('hex')
}

/**
 * A store command, run here on the data directory's store, or, when a `serve` or `send` holds
 * that store, run by it through its control socket.
 */
async function storeCommand (name: string, argv: string[]): Promise<number> {
  const { STORE_COMMANDS } = await import('./store-commands.js')
  const command = STORE_COMMANDS[name] as NonNullable<typeof STORE_COMMANDS[string]>
  return await command(argv, { held: async dir => await (await import('./control.js')).forward(dir, [name, ...argv]) })
}

/**
 * V8's heap growing percent for this process: VERITY_HEAP_GROWING_PERCENT, 0 for V8's own
 * heuristic; unset, HEAP_GROWING_PERCENT (a `serve` or a long `get` streams at 100+ MB/s for
 * hours: src/node/heap.ts says why). `node --heap-growing-percent=N $(which verity)` outranks
 * both. Read only for a command that runs: --help and --version work whatever it holds.
 */
function heapPercent (env: NodeJS.ProcessEnv): number {
  const text = env.VERITY_HEAP_GROWING_PERCENT
  if (text === undefined || text === '') return HEAP_GROWING_PERCENT
  const percent = /^[0-9]{1,4}$/.test(text) ? Number(text) : NaN
  if (!(percent <= MAX_HEAP_GROWING_PERCENT)) {
    throw new UsageError(`VERITY_HEAP_GROWING_PERCENT must be a whole number from 0 to ${MAX_HEAP_GROWING_PERCENT}, got ${JSON.stringify(text)}`)
  }
  return percent
}

/**
 * Runs one command line and returns its exit code; throws what failed (failure.ts turns it into
 * the code and the line), its UsageErrors naming the command for the `verity <command> --help` hint.
 */
export async function main (argv: string[]): Promise<number> {
  let line: CommandLine
  try {
    line = readCommandLine(argv)
  } catch (err) {
    if (err instanceof UsageError && err.message === 'no command') {
      process.stderr.write(`verity: no command\n${USAGE}\n`)
      return 2
    }
    throw err
  }
  switch (line.kind) {
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
      process.stdout.write(`verity ${pkg.version}\n`)
      return 0
    }
    case 'help':
      process.stdout.write(`${line.command === undefined ? USAGE : commandHelp(line.command)}\n`)
      return 0
    case 'run':
      try {
        tuneHeap(heapPercent(process.env))
        return await run(line.command, line.argv)
      } catch (err) {
        if (err instanceof UsageError) err.command ??= line.command
        throw err
      }
    default: {
      const never: never = line
      throw new Error(`unhandled command line ${JSON.stringify(never)}`)
    }
  }
}

async function run (command: string, rest: string[]): Promise<number> {
  switch (command) {
    case 'send': return await (await import('./send.js')).send(rest)
    case 'get': return await (await import('./get.js')).get(rest)
    case 'serve': return await (await import('./serve.js')).serve(rest)
    case 'cat': return await (await import('./cat.js')).cat(rest)
    case 'preheat': return await (await import('./preheat.js')).preheat(rest)
    case 'scheduler': return await (await import('./scheduler.js')).scheduler(rest)
    case 'add':
    case 'ls':
    case 'export':
    case 'tag':
    case 'gc':
    case 'verify':
    case 'ticket':
      return await storeCommand(command, rest)
    case 'hash': {
      const files = parseArgs(rest, {}).positionals
      for (const file of files.length === 0 ? ['-'] : files) {
        const stream = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 })
        process.stdout.write(`${await hashStream(stream)}  ${file}\n`)
      }
      return 0
    }
    default:
      throw unknownCommand(command)
  }
}

