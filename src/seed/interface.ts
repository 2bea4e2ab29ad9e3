import type { BlobFormat } from '../../store/interface.js'
import type { PreheatOptions, PreheatStatus, TaskOptions } from '../origin/interface.js'

/** What a requester asks a seed to fetch: a URL and the task options that name its task. */
export interface TaskAsk extends TaskOptions {
  url: string
  /** Sent to the origin by the seed (authorization, cookies); never logged, never in a message. */
  headers?: Record<string, string>
}

/** A request on /verity/task/1: one per stream. */
export type SeedRequest =
  | { type: 'task' } & TaskAsk
  | { type: 'preheat', urls: string[] } & PreheatOptions
  | { type: 'preheatStatus', id: string }

/** The error a seed answers with, as it was raised there (an origin error keeps its URL and status). */
export interface WireError {
  type: 'error'
  name: string
  message: string
  url?: string
  status?: number
  retryAfterMs?: number
  timeoutMs?: number
}

/** A task's blob, as the seed names it once its import has hashed the whole file. */
export interface SeedTask {
  taskId: string
  hash: Uint8Array
  size: number
  /** `hashseq` for a directory (a collection). */
  format: BlobFormat
}

/** What a seed answers: progress while the origin is fetched, then exactly one final message. */
export type SeedAnswer =
  | { type: 'progress', bytes: number, total?: number }
  | { type: 'task', taskId: string, hash: string, size: number, format: BlobFormat, source: string }
  | { type: 'preheat', status: PreheatStatus }
  | WireError

/**
 * Who may ask this seed to fetch URLs: everyone, listed peer ids, or a hook deciding per request
 * (given the requester's peer id and the URL). A seed fetches what it is asked on its own network
 * and credentials: an open one is an open proxy.
 */
export type SeedAccess = 'all' | { peers: readonly string[] } | ((peer: string, url: URL) => boolean | Promise<boolean>)

export interface SeedLimits {
  /** Bytes of one request message. @default MAX_MESSAGE_BYTES (64 KiB) */
  maxMessageBytes: number
  /** Requests one peer has open at once (over all its connections); more are refused with RateLimited. @default 8 */
  maxTasksPerPeer: number
  /** Requests open at once on the seed; more are refused with RateLimited. @default 256 */
  maxTasks: number
  /** Longest wait for a complete request once a stream opens. @default 10000 */
  requestTimeoutMs: number
  /** Longest a requester waits for its task's answer (the import goes on for other callers). @default 3600000 */
  taskTimeoutMs: number
  /** URLs one preheat may name. @default 100 */
  maxPreheatUrls: number
}

export interface SeedInit {
  /** @default 'all' (a node is a seed only when asked: `createNode({ seed })`, `verity serve --seed`) */
  allow?: SeedAccess
  /**
   * URL prefixes the seed fetches (compared with the URL as WHATWG writes it, so end a host with
   * `/`). @default every http: and https: URL, nothing else (no file:, no plugin scheme)
   */
  origins?: readonly string[]
  limits?: Partial<SeedLimits>
}
