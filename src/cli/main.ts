#!/usr/bin/env node
import { createReadStream } from 'node:fs'
import { readFileSync } from 'node:fs'
import { OutboardBuilder } from '../../store/bao/outboard.js'
import { Interrupted, UsageError } from './common.js'
import { USAGE } from './help.js'

/**
 * The `verity` command. Exit codes: 0 ok, 1 failure (one line on stderr), 2 usage, 130
 * interrupted (partial data kept). Each command's module is loaded when it runs: the store
 * commands never load libp2p.
 */

async function hashStream (stream: AsyncIterable<Uint8Array>): Promise<string> {
  const builder = new OutboardBuilder()
  for await (const chunk of stream) builder.update(chunk)
  return Buffer.from(builder.finish().hash).toString('hex')
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'send': return await (await import('./send.js')).send(rest)
    case 'get': return await (await import('./get.js')).get(rest)
    case 'serve': return await (await import('./serve.js')).serve(rest)
    case 'cat': return await (await import('./cat.js')).cat(rest)
    case 'add': return await (await import('./store-commands.js')).add(rest)
    case 'ls': return await (await import('./store-commands.js')).ls(rest)
    case 'export': return await (await import('./store-commands.js')).exportCommand(rest)
    case 'tag': return await (await import('./store-commands.js')).tag(rest)
    case 'gc': return await (await import('./store-commands.js')).gc(rest)
    case 'verify': return await (await import('./store-commands.js')).verify(rest)
    case 'ticket': return await (await import('./store-commands.js')).ticket(rest)
    case 'hash': {
      if (rest.some(arg => arg.startsWith('-') && arg !== '-')) {
        process.stderr.write(`verity hash: unknown option ${rest.find(arg => arg.startsWith('-')) ?? ''}\n${USAGE}\n`)
        return 2
      }
      const files = rest.length === 0 ? ['-'] : rest
      for (const file of files) {
        const stream = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 })
        process.stdout.write(`${await hashStream(stream)}  ${file}\n`)
      }
      return 0
    }
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
      process.stdout.write(`verity ${pkg.version}\n`)
      return 0
    }
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`)
      return 0
    default:
      process.stderr.write(`${command === undefined ? 'verity: no command' : `verity: unknown command ${command}`}\n${USAGE}\n`)
      return 2
  }
}

// A reader that stops early (`verity get ... -o - | head`) is not a failure of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: Error) => {
  if (err instanceof UsageError) {
    process.stderr.write(`verity: ${err.message} (verity --help for usage)\n`)
    process.exitCode = 2
  } else if (err instanceof Interrupted) {
    process.stderr.write(`verity: ${err.message}\n`)
    process.exitCode = 130
  } else {
    const hint = err.name === 'StoreLocked' ? ' (one process per data directory: stop the verity serve or send using it, or give this command its own --data-dir)' : ''
    process.stderr.write(`verity: ${err.message.split('\n')[0] as string}${hint}\n`)
    process.exitCode = 1
  }
}).finally(() => {
  // Every command has stopped its node and closed its store by now, but libp2p leaves handles
  // behind after stop that kept each get and cat alive for two more seconds: leave as soon as
  // what was written to stdout and stderr is out.
  process.stdout.write('', () => { process.stderr.write('', () => { process.exit() }) })
})
