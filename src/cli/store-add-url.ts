import { toHex } from '../../store/hash-text.js'
import type { BlobStore } from '../../store/interface.js'
import type { Origins } from '../origin/origins.js'
import { safeUrlOf } from '../origin/safe-url.js'
import { size, UsageError, type Output } from './common.js'

/** An argument of `verity add` that names a URL (`scheme://...` or `file:...`) rather than a path. */
export function isUrl (arg: string): boolean {
  return /^[a-z][a-z0-9+.-]+:\/\//i.test(arg) || /^file:/i.test(arg)
}

/** `--header 'Name: value'` as a header, or a usage error. */
export function parseHeaders (values: string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const value of values) {
    const colon = value.indexOf(':')
    const name = value.slice(0, colon).trim()
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name)) throw new UsageError(`--header takes 'Name: value', not ${value.slice(0, 40)}`)
    headers[name] = value.slice(colon + 1).trim()
  }
  return headers
}

export interface UrlAddOptions {
  filter: string[]
  headers: Record<string, string>
  revalidate: boolean
  /** A tag to set besides the task's own (`origin:<task id>`). */
  tag: string | undefined
  signal: AbortSignal
}

/**
 * `verity add <url>`: the file or directory at the URL imported from its origin (resuming what an
 * interrupted add staged), with progress; prints `hash  url` (the URL without credentials or
 * filtered parameters).
 */
export async function addUrl (url: string, store: BlobStore, origins: Origins, out: Output, options: UrlAddOptions): Promise<void> {
  const shown = safeUrlOf(url, options.filter)
  const started = performance.now()
  let total: number | undefined
  let fetched = 0
  const staged = new Map<string, number>()
  const handle = origins.import(url, { filter: options.filter, headers: options.headers, revalidate: options.revalidate, signal: options.signal })
  for await (const event of handle) {
    switch (event.type) {
      case 'origin:head':
        total ??= event.detail.total
        break
      case 'origin:resume':
        staged.set(event.detail.taskId, event.detail.staged)
        if (out.verbose) out.say(`resuming with ${size(event.detail.staged)} of ${size(event.detail.total)} staged`)
        break
      case 'origin:piece': {
        fetched += event.detail.bytes - (staged.get(event.detail.taskId) ?? 0)
        staged.set(event.detail.taskId, event.detail.bytes)
        out.draw([...staged.values()].reduce((sum, bytes) => sum + bytes, 0), total, started, fetched)
        break
      }
      case 'origin:file':
        if (out.verbose) out.say(`${toHex(event.detail.hash)}  ${event.detail.path}`)
        break
      case 'origin:done':
        break
    }
  }
  out.clear()
  const result = await handle
  const value = { hash: result.hash, format: result.format }
  if (options.tag !== undefined) await store.tags.set(options.tag, value)
  const what = result.format === 'hashseq' ? `a collection of ${(await store.readCollection(result.hash)).length} files, ` : ''
  const how = result.source === 'origin' ? `${size(result.fetched)} fetched` : result.source === 'known' ? 'known already, nothing fetched' : 'unchanged at the origin'
  out.say(`added ${shown}: ${what}${size(result.size)}, ${how}, tag ${options.tag === undefined ? result.tag : `${options.tag} and ${result.tag}`}`)
  out.event({ type: 'added', url: shown, hash: toHex(result.hash), format: result.format, bytes: result.size, fetched: result.fetched, task: result.taskId, source: result.source, tag: options.tag ?? result.tag })
  out.result(`${toHex(result.hash)}  ${shown}`)
}
