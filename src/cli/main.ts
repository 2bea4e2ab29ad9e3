#!/usr/bin/env node
import { createReadStream } from 'node:fs'
import { readFileSync } from 'node:fs'
import { OutboardBuilder } from '../../store/bao/outboard.js'

/**
 * The `verity` command. This first version hashes files; send, get and serve arrive with the
 * node. Exit codes: 0 ok, 1 failure (one line on stderr), 2 usage.
 */
const USAGE = `usage: verity <command>

commands:
  hash [file...]   print the BLAKE3 hash of each file (stdin when none), as "hash  name"
  --version        print the version
  --help           print this text`

async function hashStream (stream: AsyncIterable<Uint8Array>): Promise<string> {
  const builder = new OutboardBuilder()
  for await (const chunk of stream) builder.update(chunk)
  return Buffer.from(builder.finish().hash).toString('hex')
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
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

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: Error) => {
  process.stderr.write(`verity: ${err.message}\n`)
  process.exitCode = 1
})
