import { queryParts, urlArg } from './task-id.js'

/**
 * What of a URL may be shown in a message or a log line: no user name or password, no query
 * parameter named by `filter` (tokens, signatures), no fragment.
 */
export function safeUrlOf (url: string | URL, filter: readonly string[] = []): string {
  const parsed = urlArg(url)
  const dropped = new Set(filter)
  const out = new URL(parsed.href)
  out.username = ''
  out.password = ''
  out.hash = ''
  const kept = queryParts(parsed).filter(part => !dropped.has(part.name))
  out.search = kept.length === 0 ? '' : `?${kept.map(part => part.raw).join('&')}`
  return out.href
}

/**
 * A URL the origin sent (a redirect's Location, which may be a presigned URL), as it may be
 * shown: scheme, host and path only.
 */
export function bareUrlOf (url: URL): string {
  const out = new URL(url.href)
  out.username = ''
  out.password = ''
  out.hash = ''
  out.search = ''
  return out.href
}

/**
 * `text` with the secrets of `url` (its password, user name and the values of its filtered query
 * parameters, as written and decoded) put out of sight: for messages a plugin made itself.
 */
export function scrub (text: string, url: URL, filter: readonly string[] = []): string {
  const secrets = new Set<string>()
  for (const value of [url.username, url.password]) {
    if (value !== '') { secrets.add(value); secrets.add(decoded(value)) }
  }
  const dropped = new Set(filter)
  for (const part of queryParts(url)) {
    if (!dropped.has(part.name)) continue
    const raw = part.raw.slice(part.raw.indexOf('=') + 1)
    if (raw !== '' && part.raw.includes('=')) { secrets.add(raw); secrets.add(new URLSearchParams(part.raw).get(part.name) ?? raw) }
  }
  let out = text.split(url.href).join(safeUrlOf(url, filter))
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    // Any length: a message garbled by a one-letter password is the lesser harm.
    out = out.split(secret).join('***')
  }
  return out
}

function decoded (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
