import { readFileSync, statSync } from 'node:fs'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger } from '@libp2p/interface'

/** The seeds a seed list file names: one a line, blank lines and `#` comments skipped. */
export function parseSeedFile (text: string): string[] {
  return text.split('\n').map(line => line.replace(/#.*/, '').trim()).filter(line => line !== '')
}

export interface WatchSeedFileOptions {
  /**
   * How often the file's modification time and size are checked (polling works on every
   * filesystem, network mounts and files replaced by a rename among them).
   * @default 1000
   */
  intervalMs?: number
  /** Stops watching. */
  signal?: AbortSignal
  /** Logs as `verity:request:seed-file`. @default defaultLogger() of @libp2p/logger */
  logger?: ComponentLogger
}

/**
 * Calls `onChange` with the file's seeds now and each time the file changes (a request client's
 * `setSeeds`). A file that cannot be read or whose list `onChange` refuses leaves the last list in
 * place (logged).
 */
export function watchSeedFile (path: string, onChange: (seeds: string[]) => void, options: WatchSeedFileOptions = {}): void {
  const log = (options.logger ?? defaultLogger()).forComponent('verity:request:seed-file')
  let seen = ''
  const load = (): void => {
    try {
      const stat = statSync(path)
      // What was read is compared by this stat, taken before the read: a change during the read is seen next time.
      seen = `${stat.mtimeMs}:${stat.size}`
      onChange(parseSeedFile(readFileSync(path, 'utf8')))
    } catch (err) {
      log('seed list %s not taken: %s', path, (err as Error).message)
    }
  }
  const poll = (): void => {
    let now = ''
    try {
      const stat = statSync(path)
      now = `${stat.mtimeMs}:${stat.size}`
    } catch (err) {
      log('seed list %s unreadable: %s', path, (err as Error).message)
      return
    }
    if (now !== seen) load()
  }
  if (options.signal?.aborted === true) return
  const timer = setInterval(poll, options.intervalMs ?? 1000)
  timer.unref()
  options.signal?.addEventListener('abort', () => { clearInterval(timer) }, { once: true })
  load()
}
