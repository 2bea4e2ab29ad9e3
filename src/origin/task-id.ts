import { createHash } from 'node:crypto'
import type { TaskOptions } from './interface.js'

/**
 * Task ids, as Dragonfly's id generator makes them: one id per "this file, whatever changeful
 * query parameters (tokens, signatures) the URL carries", so that every request for it can be
 * routed to one seed and fetched from the origin once. docs/origins.md gives the exact bytes.
 */

/**
 * The task id of `url`: the hex SHA-256 of the task URL (taskUrlOf), then for a `tag` a NUL byte
 * and `tag=<tag>`, then for an `application` a NUL byte and `application=<application>` (UTF-8;
 * an empty tag or application counts as none, as in Dragonfly).
 */
export function taskIdOf (url: string | URL, options: TaskOptions = {}): string {
  const hash = createHash('sha256').update(taskUrlOf(url, options.filter))
  const tag = fieldArg('tag', options.tag)
  const application = fieldArg('application', options.application)
  if (tag !== '') hash.update(`\0tag=${tag}`)
  if (application !== '') hash.update(`\0application=${application}`)
  return hash.digest('hex')
}

/**
 * The URL a task id is made from: parsed and written out by the WHATWG URL rules (scheme and host
 * in lower case, default port and dot segments gone), without its fragment, with the query
 * parameters named by `filter` left out and the rest in order of their names (a stable sort, so
 * the values of one name keep their order), each parameter as written (not decoded and encoded again).
 */
export function taskUrlOf (url: string | URL, filter: readonly string[] = []): string {
  const parsed = urlArg(url)
  const dropped = new Set(filterArg(filter))
  const kept = queryParts(parsed).filter(part => !dropped.has(part.name))
  kept.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  const out = new URL(parsed.href)
  out.hash = ''
  out.search = kept.length === 0 ? '' : `?${kept.map(part => part.raw).join('&')}`
  return out.href
}

/** The query's `name=value` parts as written, each with its decoded name; empty parts dropped. */
export function queryParts (url: URL): Array<{ name: string, raw: string }> {
  return url.search.slice(1).split('&').filter(raw => raw !== '').map(raw => {
    const [name = ''] = new URLSearchParams(raw).keys()
    return { name, raw }
  })
}

/** `url` parsed, or a TypeError naming what was given. */
export function urlArg (url: unknown): URL {
  if (url instanceof URL) return url
  if (typeof url !== 'string') throw new TypeError(`url must be a string or a URL, got ${typeof url}`)
  try {
    return new URL(url)
  } catch {
    // The text itself may carry a password: say only how it starts.
    throw new TypeError(`url is not an absolute URL: ${JSON.stringify(url.slice(0, 12))}${url.length > 12 ? '...' : ''}`)
  }
}

function filterArg (filter: unknown): string[] {
  if (!Array.isArray(filter) || !filter.every(name => typeof name === 'string')) {
    throw new TypeError(`filter must be an array of query parameter names, got ${JSON.stringify(filter)}`)
  }
  return filter
}

/** A tag or application: a string without NUL (the separator of the id's input), or none (''). */
function fieldArg (name: string, value: unknown): string {
  if (value === undefined) return ''
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`)
  if (value.includes('\0')) throw new RangeError(`${name} must not contain a NUL character, got ${JSON.stringify(value)}`)
  return value
}
