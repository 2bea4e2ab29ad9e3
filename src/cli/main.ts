#!/usr/bin/env node
// First: on Node 20, libp2p and its transports need Promise.withResolvers (Node 22).
import '../node/polyfill.js'
import { asksVerbose, failure } from './failure.js'
import { main } from './run.js'

// A reader that stops early (`verity get ... -o - | head`) is not a failure of ours; stdout that
// cannot be written (a full disk behind `> file`) is said in one line, not a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  process.stderr.write(failure(err, asksVerbose(process.argv.slice(2))).line + '\n', () => { process.exit(1) })
})

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: Error) => {
  const { code, line } = failure(err, asksVerbose(process.argv.slice(2)))
  process.stderr.write(line + '\n')
  process.exitCode = code
}).finally(() => {
  // Every command has stopped its node and closed its store by now, but libp2p leaves handles
  // behind after stop that kept each get and cat alive for two more seconds: leave as soon as
  // what was written to stdout and stderr is out.
  process.stdout.write('', () => { process.stderr.write('', () => { process.exit() }) })
})
