import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger } from '@libp2p/interface'

/** The seeds a seed list file names: one a line, blank lines and `#` comments skipped. */
export function parseSeedFile (text: string): string[] {
  return text.split('\n').map(line => line.replace(/#.*/, '').trim()).filter(line => line !== '')
}

export interface WatchSeedFileOptions {
  /**
   * How often the file's modification time is checked (fs.watchFile: polling works on every
   * filesystem, network mounts and replaced files among them).
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
  const load = (): void => {
    try {
      onChange(parseSeedFile(readFileSync(path, 'utf8')))
    } catch (err) {
      log('seed list %s not taken: %s', path, (err as Error).message)
    }
  }
  if (options.signal?.aborted === true) return
  const listener = (now: Stats, before: Stats): void => { if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) load() }
  watchFile(path, { interval: options.intervalMs ?? 1000, persistent: false }, listener)
  options.signal?.addEventListener('abort', () => { unwatchFile(path, listener) }, { once: true })
  load()
}
