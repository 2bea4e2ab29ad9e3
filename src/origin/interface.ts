import type { ProgressEvent } from 'progress-events'
import type { BlobFormat } from '../../store/interface.js'

/** A byte range of an origin file: `length` bytes from `offset`. */
export interface ByteRange {
  offset: number
  length: number
}

/**
 * What identifies one version of an origin file. A backend that can tell the file moved on
 * (another size, ETag or Last-Modified) throws OriginChanged when asked with these.
 */
export interface Validators {
  size?: number
  etag?: string
  lastModified?: string
}

/**
 * Which addresses an import's connections may reach. `any`: every one (the node's own imports:
 * `verity add <url>`, `origins.import` called by the node's program). `public`: global unicast
 * only, no loopback, private (RFC 1918, fc00::/7), link-local, unspecified, multicast, shared
 * (100.64/10), reserved, nor IPv4-mapped forms of those (imports done for a peer or an HTTP
 * client: a seed); checked on the address each connection is made to, redirect hops included,
 * and refused with OriginForbiddenAddress.
 */
export interface AddressPolicy {
  reach: 'any' | 'public'
  /**
   * With `public`: URL prefixes (compared with each hop's URL as WHATWG writes it, so end a host
   * with `/`) whose hosts may be at any address: an operator's internal origins. A redirect out
   * from under them is checked again.
   */
  privateAllowed?: readonly string[]
}

export interface HeadOptions {
  /** Request headers passed through to the origin (HTTP: as given; plugins: as they see fit). */
  headers?: Record<string, string>
  /**
   * Conditional head: the validators of the copy held. A backend that can ask the origin
   * conditionally answers `{ notModified: true }` when they still hold; one that cannot simply
   * answers the head, and the caller compares.
   */
  ifUnchanged?: Validators
  /**
   * Which addresses the backend may connect to (the built-in http: and https: honour it; a
   * plugin should, where it connects to hosts a URL names). @default { reach: 'any' }
   */
  addressPolicy?: AddressPolicy
  /**
   * The URL as it may appear in an error message or a log line (no credentials, no filtered
   * query parameters): name this, never the URL itself.
   */
  safeUrl?: string
  signal?: AbortSignal
}

export interface GetOptions {
  range: ByteRange
  headers?: Record<string, string>
  /** The version the range must come from: another one is OriginChanged, never mixed bytes. */
  expect?: Validators
  /** See HeadOptions.addressPolicy. */
  addressPolicy?: AddressPolicy
  /** See HeadOptions.safeUrl. */
  safeUrl?: string
  signal?: AbortSignal
}

/** A file at the origin. `etag` and `lastModified` are the origin's, as it gave them. */
export interface FileHead {
  size: number
  etag?: string
  lastModified?: string
  contentType?: string
}

/** A directory at the origin: every file below it (recursively), paths relative with `/`. */
export interface DirectoryHead {
  entries: DirectoryEntry[]
}

export interface DirectoryEntry {
  path: string
  size: number
}

/** The answer to a conditional head whose validators still hold. */
export interface NotModified {
  notModified: true
}

export type HeadResult = FileHead | DirectoryHead | NotModified

/**
 * A way to read files at URLs of some schemes: `head` for the size (or a directory's files),
 * `get` for a byte range. Errors are the named origin errors (OriginNotFound, OriginDenied,
 * OriginUnavailable, OriginTimeout, OriginChanged, OriginBadResponse), naming `safeUrl`.
 *
 * A plugin (docs/origins.md) is an ES module whose default export is such a backend, or a
 * function returning one (given `{ logger }`).
 */
export interface OriginBackend {
  /** A short name for logs (`load [<name>] plugin backend`). */
  readonly name: string
  /** The URL schemes it serves, without the colon: `['file']`, `['http', 'https']`. */
  readonly schemes: readonly string[]
  head: (url: URL, options: HeadOptions) => Promise<HeadResult>
  /**
   * Exactly the bytes of `range`, in order. A chunk may be reused by the backend once the next
   * one is asked for, so a consumer that keeps one copies it.
   */
  get: (url: URL, options: GetOptions) => AsyncIterable<Uint8Array>
  /** Let go of connections and the like; called when the node stops. */
  close?: () => Promise<void> | void
}

/** Which task an import is: the URL with the query parameters named by `filter` left out, plus `tag` and `application`. */
export interface TaskOptions {
  /** Query parameter names left out of the task id (and out of messages): tokens, signatures. */
  filter?: readonly string[]
  /** Tells apart tasks of one URL (Dragonfly's `tag`). */
  tag?: string
  /** Tells apart tasks of one URL by who asks (Dragonfly's `application`). */
  application?: string
}

export interface OriginImportOptions extends TaskOptions {
  /** Request headers for the origin (authorization, cookies): passed through, never logged. */
  headers?: Record<string, string>
  /** Bytes per ranged get, rounded up to a multiple of 16 KiB. @default by size (defaultPieceSize) */
  pieceSize?: number
  /** Pieces fetched at once. @default 4 */
  concurrency?: number
  /** Ask the origin whether a known task's file changed (a conditional head). @default false */
  revalidate?: boolean
  /**
   * Which addresses this import may connect to: `{ reach: 'public' }` for an import done on
   * someone else's behalf (a seed passes it). Callers of one task share one fetch, made with the
   * policy of the caller that started it; a caller allowed any address that finds a shared
   * fetch refused for its address fetches again itself. @default { reach: 'any' }
   */
  addressPolicy?: AddressPolicy
  onProgress?: (event: OriginImportProgress) => void
  signal?: AbortSignal
}

export interface OriginImportResult {
  taskId: string
  hash: Uint8Array
  /** Bytes of the file, or of all the directory's files. */
  size: number
  /** `hashseq` for a directory, imported as a collection. */
  format: BlobFormat
  /** The store tag that keeps the result from GC: `origin:<taskId>`. */
  tag: string
  /** Bytes fetched from the origin by this import (0 for a known task). */
  fetched: number
  /** `origin`: fetched (or resumed); `known`: from the URL index; `unchanged`: revalidated. */
  source: 'origin' | 'known' | 'unchanged'
}

/**
 * What an import reports, as `{ type, detail }`: `origin:head` (the size, or the directory's
 * files and bytes), `origin:resume` (bytes already staged by an earlier, interrupted import),
 * `origin:piece` per piece fetched (bytes so far of the total), `origin:file` per file of a
 * directory, `origin:done` last.
 */
export type OriginImportProgress =
  | ProgressEvent<'origin:head', { taskId: string, url: string, total: number, files?: number }>
  | ProgressEvent<'origin:resume', { taskId: string, staged: number, total: number }>
  | ProgressEvent<'origin:piece', { taskId: string, piece: number, pieces: number, bytes: number, total: number }>
  | ProgressEvent<'origin:file', { taskId: string, path: string, hash: Uint8Array, size: number }>
  | ProgressEvent<'origin:done', OriginImportResult>

/** What the URL index keeps per task: the blob it became and the origin's validators then. */
export interface TaskRecord {
  hash: Uint8Array
  format: BlobFormat
  size: number
  etag?: string
  lastModified?: string
  /** When the origin was last asked (ms since the epoch). */
  fetchedAt: number
}

/** A preheat's state: WAITING, then RUNNING, then SUCCESS or FAILED (Dragonfly's preheat job states). */
export type PreheatState = 'WAITING' | 'RUNNING' | 'SUCCESS' | 'FAILED'

/** One URL of a preheat and how it went. */
export interface PreheatItem {
  /** The URL as it may be shown (no credentials, no filtered parameters). */
  url: string
  taskId: string
  /** Once imported. */
  hash?: string
  size?: number
  format?: BlobFormat
  /** `<name>: <message>` when it failed. */
  error?: string
}

/** A preheat as it stands, queryable by `id` for PREHEAT_KEEP_MS after it was made. */
export interface PreheatStatus {
  id: string
  state: PreheatState
  items: PreheatItem[]
  /** `<name>: <message>` of the first URL that failed. */
  error?: string
  createdAt: number
  finishedAt?: number
}

/** What a preheat imports: URLs with the task options of an import (the same for every URL). */
export interface PreheatOptions extends TaskOptions {
  headers?: Record<string, string>
  /** See OriginImportOptions.addressPolicy. @default { reach: 'any' } */
  addressPolicy?: AddressPolicy
}
