import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { PluginLoadFailed } from './errors.js'
import type { OriginBackend } from './interface.js'
import { checkBackend, type BackendRegistry } from './registry.js'

/** A plugin that takes longer than this to load (a top-level await that never ends) is reported and skipped. */
export const PLUGIN_LOAD_TIMEOUT_MS = 10000

/** What loading a plugin directory did: the backends loaded, and each file that failed with its reason. */
export interface PluginReport {
  dir: string | undefined
  loaded: Array<{ name: string, file: string, schemes: string[] }>
  failed: PluginLoadFailed[]
}

/**
 * Loads every `*.mjs` and `*.js` file of `dir` (not below it), in name order, once: each is an
 * ES module whose default export is a backend, or a function given `{ logger }` that returns one
 * (or a promise of one). A file that fails (it throws, exports no backend, claims a scheme taken
 * already: DuplicateScheme) is reported with its name and reason; the others load all the same.
 * No directory, no plugins.
 */
export async function loadPlugins (dir: string | undefined, registry: BackendRegistry, logger: ComponentLogger, log: Logger): Promise<PluginReport> {
  const report: PluginReport = { dir, loaded: [], failed: [] }
  if (dir === undefined) return report
  let files: string[]
  try {
    files = (await readdir(dir, { withFileTypes: true })).filter(entry => !entry.isDirectory() && /\.m?js$/.test(entry.name)).map(entry => entry.name).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      log('no plugin directory at %s', dir)
      return report
    }
    throw err
  }
  for (const file of files) {
    try {
      const backend = await withTimeout(loadOne(join(dir, file), logger, file), PLUGIN_LOAD_TIMEOUT_MS)
      registry.add(backend, file)
      report.loaded.push({ name: backend.name, file, schemes: [...backend.schemes] })
      log('load [%s] plugin backend', backend.name)
    } catch (err) {
      const failure = new PluginLoadFailed(file, reasonOf(err), { cause: err })
      report.failed.push(failure)
      log.error('%s', failure.message)
    }
  }
  return report
}

async function loadOne (path: string, logger: ComponentLogger, file: string): Promise<OriginBackend> {
  const module = await import(pathToFileURL(path).href) as { default?: unknown }
  let exported = module.default
  if (exported === undefined) throw new TypeError('it has no default export (a backend, or a function returning one)')
  if (typeof exported === 'function') exported = await (exported as (context: { logger: Logger }) => unknown)({ logger: logger.forComponent(`verity:origin:plugin:${file}`) })
  return checkBackend(exported)
}

async function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`it did not finish loading within ${ms} ms`)) }, ms)
      timer.unref()
    })])
  } finally {
    clearTimeout(timer)
  }
}

function reasonOf (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const line = err.message.split('\n')[0] as string
  return err.name === 'Error' ? line : `${err.name}: ${line}`
}
