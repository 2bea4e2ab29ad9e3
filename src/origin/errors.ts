/**
 * Named errors of origins; callers check `err.name`. Each names the URL as it may be shown (no
 * credentials, no filtered query parameters): `url`, and the message ends with it.
 */

export interface OriginErrorOptions {
  /** The origin's HTTP status, where it gave one. */
  status?: number
  cause?: unknown
}

/** What every origin error has: the URL (safe to show) and, over HTTP, the status. */
export abstract class OriginError extends Error {
  readonly url: string
  readonly status: number | undefined

  constructor (url: string, detail: string, options: OriginErrorOptions = {}) {
    super(`${detail}: ${url}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.url = url
    this.status = options.status
  }

  /** Whether trying again may help: a busy, broken or slow origin, not a refusal or a moved file. */
  get transient (): boolean {
    return false
  }
}

/** Nothing at the URL (HTTP 404 or 410, no such file). */
export class OriginNotFound extends OriginError {
  static override name = 'OriginNotFound'
  constructor (url: string, detail = 'not found at the origin', options?: OriginErrorOptions) {
    super(url, detail, options)
    this.name = 'OriginNotFound'
  }
}

/** The origin refuses (HTTP 401 or 403, a file not readable). */
export class OriginDenied extends OriginError {
  static override name = 'OriginDenied'
  constructor (url: string, detail = 'the origin refused access', options?: OriginErrorOptions) {
    super(url, detail, options)
    this.name = 'OriginDenied'
  }
}

/** The origin failed or could not be reached: HTTP 5xx or 429, refused, reset, cut short. */
export class OriginUnavailable extends OriginError {
  static override name = 'OriginUnavailable'
  /** What the origin's Retry-After asked for, in ms. */
  readonly retryAfterMs: number | undefined

  constructor (url: string, detail = 'the origin is unavailable', options: OriginErrorOptions & { retryAfterMs?: number } = {}) {
    super(url, detail, options)
    this.name = 'OriginUnavailable'
    this.retryAfterMs = options.retryAfterMs
  }

  override get transient (): boolean {
    return true
  }
}

/** Nothing came from the origin for longer than the idle timeout. */
export class OriginTimeout extends OriginError {
  static override name = 'OriginTimeout'
  constructor (url: string, readonly timeoutMs: number, detail = `nothing from the origin for ${timeoutMs} ms`, options?: OriginErrorOptions) {
    super(url, detail, options)
    this.name = 'OriginTimeout'
  }

  override get transient (): boolean {
    return true
  }
}

/** The file moved on during a download: its size or validator (ETag, Last-Modified) is not the one it began with. */
export class OriginChanged extends OriginError {
  static override name = 'OriginChanged'
  constructor (url: string, detail = 'the file changed at the origin during the download', options?: OriginErrorOptions) {
    super(url, detail, options)
    this.name = 'OriginChanged'
  }
}

/**
 * An answer that cannot be the bytes asked for (another Content-Range, more bytes than the range,
 * a status that means nothing here, no size): asking again would not mend it.
 */
export class OriginBadResponse extends OriginError {
  static override name = 'OriginBadResponse'
  constructor (url: string, detail = 'the origin gave an answer that cannot be right', options?: OriginErrorOptions) {
    super(url, detail, options)
    this.name = 'OriginBadResponse'
  }
}

/**
 * The origin sent the whole file (HTTP 200) to a request for a range that does not start at 0.
 * An import then fetches the file in one piece.
 */
export class OriginRangeIgnored extends OriginError {
  static override name = 'OriginRangeIgnored'
  constructor (url: string, detail = 'the origin ignores Range requests', options?: OriginErrorOptions) {
    super(url, detail, options)
    this.name = 'OriginRangeIgnored'
  }
}

/**
 * An import done for someone else (a peer asking a seed, an HTTP client of `/tasks`) was about to
 * connect to an address that is not public (`kind`: loopback, private, link-local, ...): refused
 * before the connection, whether the URL named the address, its host resolved to it, or a redirect
 * led there. `host` is the host name as the URL (or the redirect) gave it.
 */
export class OriginForbiddenAddress extends OriginError {
  static override name = 'OriginForbiddenAddress'
  readonly host: string
  readonly address: string
  readonly kind: string

  constructor (url: string, host: string, address: string, kind: string, detail = forbiddenDetail(host, address, kind), options?: OriginErrorOptions) {
    super(url, detail, options)
    this.name = 'OriginForbiddenAddress'
    this.host = host
    this.address = address
    this.kind = kind
  }
}

function forbiddenDetail (host: string, address: string, kind: string): string {
  const where = host === address ? `${address} is a ${kind} address` : `${host} is at ${address}, a ${kind} address`
  return `${where}, which this node does not fetch from for others (a seed allows it with --origin-allow, or seed.origins, naming a prefix of the URL)`
}

/** No backend serves the URL's scheme. */
export class UnsupportedScheme extends Error {
  static override name = 'UnsupportedScheme'
  constructor (readonly scheme: string, served: readonly string[]) {
    super(`no origin backend serves ${scheme}: URLs (served: ${served.length === 0 ? 'none' : served.map(s => `${s}:`).join(', ')})`)
    this.name = 'UnsupportedScheme'
  }
}

/** Two backends claim one scheme; `first` keeps it. */
export class DuplicateScheme extends Error {
  static override name = 'DuplicateScheme'
  constructor (readonly scheme: string, readonly first: string, readonly second: string) {
    super(`scheme ${scheme}: is claimed by ${first} and by ${second}; ${first} keeps it`)
    this.name = 'DuplicateScheme'
  }
}

/** A plugin file that could not be loaded, and why; the other plugins load all the same. */
export class PluginLoadFailed extends Error {
  static override name = 'PluginLoadFailed'
  constructor (readonly file: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`plugin ${file} failed to load: ${reason}`, options)
    this.name = 'PluginLoadFailed'
  }
}

/** Whether `err` is an origin error a retry may mend. */
export function isTransient (err: unknown): boolean {
  return err instanceof OriginError && err.transient
}
