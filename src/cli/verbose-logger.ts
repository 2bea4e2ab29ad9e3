import { format } from 'node:util'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'

/**
 * libp2p's logger (DEBUG=... works as ever) whose components under `scope` also say each line
 * through `say`: a command's --verbose output (`load [mem] plugin backend`, a task resumed, a
 * retry). Trace lines stay with DEBUG.
 */
export function verboseLogger (scope: string, say: (line: string) => void): ComponentLogger {
  const base = defaultLogger()
  const wrap = (name: string, inner: Logger): Logger => {
    if (name !== scope && !name.startsWith(`${scope}:`)) return inner
    const log = ((formatter: unknown, ...args: unknown[]) => {
      inner(formatter, ...args)
      say(format(formatter, ...args))
    }) as Logger
    log.error = (formatter: unknown, ...args: unknown[]) => {
      inner.error(formatter, ...args)
      say(format(formatter, ...args))
    }
    log.trace = inner.trace
    log.enabled = true
    log.newScope = (child: string) => wrap(`${name}:${child}`, inner.newScope(child))
    return log
  }
  return { forComponent: (name: string) => wrap(name, base.forComponent(name)) }
}
