import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { Aborted } from '../../protocol/errors.js'
import { StoreClosed } from '../../store/errors.js'
import type { BlobStore } from '../../store/interface.js'
import { ProgressHandle } from '../../store/progress-handle.js'
import { fileBackend } from './backends/file.js'
import { httpBackend, type HttpBackendOptions } from './backends/http.js'
import { OriginForbiddenAddress } from './errors.js'
import type { AddressPolicy, OriginImportOptions, OriginImportProgress, OriginImportResult, OriginBackend, PreheatOptions, PreheatStatus, TaskOptions, TaskRecord } from './interface.js'
import { loadPlugins, type PluginReport } from './plugins.js'
import { Preheats, type PreheatLimits } from './preheat.js'
import { BackendRegistry, type RegisteredBackend } from './registry.js'
import { SingleFlight } from './single-flight.js'
import { StagingArea } from './staging.js'
import { runTask, type TaskContext } from './task.js'
import { taskIdOf, urlArg } from './task-id.js'
import { FileIndex, MemIndex, type UrlIndex } from './url-index.js'

export interface OriginsInit {
  /**
   * Where the URL index (`origins/index.jsonl`) and staged files (`origins/staging/`) live, and
   * the default plugin directory (`plugins/backend`). Without it: an index in memory and staged
   * files in a temporary directory (no resume across processes).
   */
  dataDir?: string
  /** Plugin backends to load at start. @default $VERITY_PLUGIN_DIR, else `<dataDir>/plugins/backend` */
  pluginDir?: string
  /** Backends given in code, beside the built-in `file:` and `http(s):` ones. */
  backends?: OriginBackend[]
  /** The built-in HTTP backend's timeouts, retries and connections. */
  http?: HttpBackendOptions
  /** Pieces of one file fetched at once. @default 4 */
  concurrency?: number
  /** Files of one directory imported at once. @default 4 */
  fileConcurrency?: number
  /** How often an import saves how far it got (what a resume starts from). @default 250 */
  checkpointMs?: number
  /** Preheat jobs kept, running at once, and for how long. @default 1000, 2, 24 hours */
  preheat?: Partial<PreheatLimits>
}

export interface OriginsComponents {
  store: BlobStore
  /** Logs as `verity:origin` (plugin loads among them). @default defaultLogger() of @libp2p/logger */
  logger?: ComponentLogger
}

/** An import under way: await it for the result, or iterate its progress (`origin:done` last). */
export class OriginImportHandle extends ProgressHandle<OriginImportResult, OriginImportProgress> {}

/**
 * Files and directories from origins (URLs) into the store: `import(url)` heads the URL, fetches
 * its pieces with ranged gets into a staged file that survives a crash, hashes them as they
 * come, and moves the file into the store as a blob (a directory: a collection), tagged
 * `origin:<task id>` and recorded in the URL index under its task id. Imports of one task in
 * this process share one fetch. docs/origins.md tells it all.
 */
export class Origins {
  private readonly flights = new SingleFlight<OriginImportResult, OriginImportProgress>()
  private staging: Promise<StagingArea> | undefined
  private closed = false
  private readonly stopping = new AbortController()
  private readonly preheats: Preheats

  private constructor (private readonly store: BlobStore, private readonly registry: BackendRegistry, private readonly index: UrlIndex,
    readonly plugins: PluginReport, private readonly init: OriginsInit, private readonly log: Logger) {
    this.preheats = new Preheats(async (url, options) => await this.import(url, options), log, init.preheat)
  }

  /**
   * The built-in backends, those given, then the plugins of the plugin directory (scanned now and
   * only now; each logged as `load [<name>] plugin backend`, a failure logged and in
   * `plugins.failed`), and the URL index. DuplicateScheme when backends given in code collide.
   */
  static async create (components: OriginsComponents, init: OriginsInit = {}): Promise<Origins> {
    const logger = components.logger ?? defaultLogger()
    const log = logger.forComponent('verity:origin')
    const registry = new BackendRegistry()
    registry.add(fileBackend(), 'built-in')
    registry.add(httpBackend({ logger, ...init.http }), 'built-in')
    try {
      for (const backend of init.backends ?? []) registry.add(backend, 'given in code')
      const envDir = process.env.VERITY_PLUGIN_DIR
      const pluginDir = init.pluginDir ?? (envDir !== undefined && envDir !== '' ? envDir : undefined) ??
        (init.dataDir === undefined ? undefined : join(init.dataDir, 'plugins', 'backend'))
      const plugins = await loadPlugins(pluginDir, registry, logger, log)
      let index: UrlIndex = new MemIndex()
      if (init.dataDir !== undefined) {
        await mkdir(join(init.dataDir, 'origins'), { recursive: true })
        index = await FileIndex.open(join(init.dataDir, 'origins', 'index.jsonl'), log)
      }
      return new Origins(components.store, registry, index, plugins, init, log)
    } catch (err) {
      await registry.close()
      throw err
    }
  }

  /**
   * Import the file or directory at `url` (any scheme a backend serves). A task already imported
   * (same task id, its blob still here) returns at once, unless `revalidate` asks the origin
   * whether it changed. Callers of one task in this process share one fetch; one caller's abort
   * ends only its own wait. Fails with the named origin errors (OriginNotFound, ...), or
   * UnsupportedScheme; with `addressPolicy: { reach: 'public' }`, OriginForbiddenAddress for a
   * connection to an address that is not public.
   *
   * The shared fetch runs with the policy of the caller that started it. A caller held to public
   * addresses may so share a fetch the node's own program started (as it may have the blob once
   * that fetch is done: the task is known); it never starts a connection to a private address.
   * A caller allowed any address that shared a fetch refused for its address runs it again.
   */
  import (url: string | URL, options: OriginImportOptions = {}): OriginImportHandle {
    const parsed = urlArg(url)
    const taskId = taskIdOf(parsed, options)
    checkCount('pieceSize', options.pieceSize)
    checkCount('concurrency', options.concurrency)
    const addressPolicy = checkAddressPolicy(options.addressPolicy)
    const task = { ...options, ...(addressPolicy === undefined ? {} : { addressPolicy }) }
    return new OriginImportHandle(async emit => {
      this.open()
      const report = (event: OriginImportProgress): void => {
        options.onProgress?.(event)
        emit(event)
      }
      const run = async (): Promise<OriginImportResult> => await this.flights.run(taskId, async (signal, emitShared) => await runTask(this.context(), parsed, taskId, task, signal, emitShared), {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onProgress: report
      })
      let result: OriginImportResult
      try {
        result = await run()
      } catch (err) {
        if (!(err instanceof OriginForbiddenAddress) || addressPolicy?.reach === 'public') throw err
        this.log('task %s: the shared fetch was refused %s (%s); fetching again for a caller that may reach it', taskId, err.address, err.kind)
        result = await run()
      }
      report({ type: 'origin:done', detail: result })
      return result
    }, { coalesce: event => event.type === 'origin:piece' })
  }

  /**
   * Import `urls` in the background (one after another; two preheats run at once, others wait), so
   * that later requests find them known. Returns the preheat's status as it starts (`RUNNING`, or
   * `WAITING` for a place);
   * `preheatStatus(id)` tells how it goes: `SUCCESS` or `FAILED` with the first
   * error. RateLimited when 1000 preheats are kept and none has finished.
   */
  preheat (urls: ReadonlyArray<string | URL>, options: PreheatOptions = {}): PreheatStatus {
    this.open()
    return this.preheats.start(urls, options, this.stopping.signal)
  }

  /** A preheat's status, kept for 24 hours after it was made; undefined for an id not known (or older). */
  preheatStatus (id: string): PreheatStatus | undefined {
    return this.preheats.status(id)
  }

  /** The task id `url` has with these options (docs/origins.md gives the bytes hashed). */
  taskId (url: string | URL, options: TaskOptions = {}): string {
    return taskIdOf(url, options)
  }

  /** What the URL index holds for a task id. */
  lookup (taskId: string): TaskRecord | undefined {
    return this.index.get(taskId)
  }

  /** The backends serving URLs now, with where each came from. */
  get backends (): RegisteredBackend[] {
    return this.registry.list()
  }

  /** Aborts imports under way (their staged bytes stay for the next start), then closes the index and the backends. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.stopping.abort(new Aborted('the origins service is closing'))
    await this.flights.abortAll(new Aborted('the origins service is closing'))
    await this.index.close()
    for (const err of await this.registry.close()) this.log.error('a backend failed to close: %s', (err as Error).message)
    if (this.staging !== undefined && this.init.dataDir === undefined) {
      const staging = await this.staging.catch(() => undefined)
      if (staging !== undefined) await rm(staging.dir, { recursive: true, force: true })
    }
  }

  private context (): TaskContext {
    return {
      store: this.store,
      index: this.index,
      registry: this.registry,
      log: this.log,
      checkpointMs: this.init.checkpointMs ?? 250,
      concurrency: this.init.concurrency ?? 4,
      fileConcurrency: this.init.fileConcurrency ?? 4,
      staging: async () => await (this.staging ??= this.makeStaging()),
      importFile: async (url, options) => await this.import(url, options)
    }
  }

  private async makeStaging (): Promise<StagingArea> {
    if (this.init.dataDir !== undefined) return new StagingArea(join(this.init.dataDir, 'origins', 'staging'), true, this.log)
    return new StagingArea(await mkdtemp(join(tmpdir(), 'verity-origin-')), false, this.log)
  }

  private open (): void {
    if (this.closed) throw new StoreClosed('the origins service is closed')
  }
}

/** The policy with its prefixes as WHATWG writes them; TypeError for a policy that is none. */
function checkAddressPolicy (policy: AddressPolicy | undefined): AddressPolicy | undefined {
  if (policy === undefined) return undefined
  if (policy === null || typeof policy !== 'object' || (policy.reach !== 'any' && policy.reach !== 'public')) {
    throw new TypeError(`addressPolicy must be { reach: 'any' | 'public', privateAllowed? }, got ${JSON.stringify(policy)?.slice(0, 80)}`)
  }
  if (policy.privateAllowed === undefined) return policy
  if (!Array.isArray(policy.privateAllowed)) throw new TypeError('addressPolicy.privateAllowed must be an array of URL prefixes')
  const privateAllowed = policy.privateAllowed.map((prefix: unknown) => {
    try {
      return new URL(String(prefix)).href
    } catch {
      throw new TypeError(`addressPolicy.privateAllowed must hold absolute URLs such as http://10.0.0.5/, got ${String(prefix).slice(0, 80)}`)
    }
  })
  return { reach: policy.reach, privateAllowed }
}

function checkCount (name: string, value: unknown): void {
  if (value === undefined) return
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, got ${value}`)
}
