import {
  OriginBadResponse, OriginChanged, OriginDenied, OriginError, OriginNotFound, OriginRangeIgnored, OriginTimeout, OriginUnavailable
} from './errors.js'
import type { AddressPolicy, DirectoryEntry, GetOptions, HeadOptions, HeadResult, OriginBackend } from './interface.js'
import { scrub } from './safe-url.js'

/** The origin errors a plugin may throw by name (it need not import verity to do so). */
const BY_NAME: Record<string, (url: string, detail: string) => OriginError> = {
  OriginNotFound: (url, detail) => new OriginNotFound(url, detail),
  OriginDenied: (url, detail) => new OriginDenied(url, detail),
  OriginUnavailable: (url, detail) => new OriginUnavailable(url, detail),
  OriginTimeout: (url, detail) => new OriginTimeout(url, 0, detail),
  OriginChanged: (url, detail) => new OriginChanged(url, detail),
  OriginBadResponse: (url, detail) => new OriginBadResponse(url, detail),
  OriginRangeIgnored: (url, detail) => new OriginRangeIgnored(url, detail)
}

/**
 * A backend as imports call it: whatever it throws comes out as a named origin error naming the
 * safe URL (an error of another name is OriginUnavailable; its message is scrubbed of the URL's
 * credentials and filtered parameters), and what `head` answers is checked (a size that is not a
 * byte count, a directory entry that is not a path) before anyone trusts it. Every call carries
 * the import's address policy.
 */
export class GuardedBackend {
  private readonly policy: { addressPolicy?: AddressPolicy }

  constructor (private readonly backend: OriginBackend, private readonly url: URL, private readonly safeUrl: string, private readonly filter: readonly string[], addressPolicy?: AddressPolicy) {
    this.policy = addressPolicy === undefined ? {} : { addressPolicy }
  }

  async head (options: Omit<HeadOptions, 'safeUrl' | 'addressPolicy'>): Promise<HeadResult> {
    let result: HeadResult
    try {
      result = await this.backend.head(this.url, { ...options, ...this.policy, safeUrl: this.safeUrl })
    } catch (err) {
      throw this.named(err, options.signal)
    }
    return this.checked(result, options.ifUnchanged !== undefined)
  }

  async * get (options: Omit<GetOptions, 'safeUrl' | 'addressPolicy'>): AsyncGenerator<Uint8Array> {
    try {
      yield * this.backend.get(this.url, { ...options, ...this.policy, safeUrl: this.safeUrl })
    } catch (err) {
      throw this.named(err, options.signal)
    }
  }

  /** The backend's error as the origin error it means, naming the safe URL; an abort's reason passes. */
  private named (err: unknown, signal: AbortSignal | undefined): unknown {
    const safeUrl = this.safeUrl
    if (err instanceof OriginError || (signal?.aborted === true && err === signal.reason)) return err
    if (signal?.aborted === true) return signal.reason
    const name = err instanceof Error ? err.name : 'Error'
    const message = scrub(err instanceof Error ? err.message : String(err), this.url, this.filter)
    const make = BY_NAME[name]
    if (make !== undefined) return make(safeUrl, message)
    return new OriginUnavailable(safeUrl, `backend ${this.backend.name} failed: ${name === 'Error' ? '' : `${name}: `}${message}`)
  }

  private checked (result: HeadResult, conditional: boolean): HeadResult {
    const bad = (what: string): OriginBadResponse => new OriginBadResponse(this.safeUrl, `backend ${this.backend.name} answered head with ${what}`)
    if (result === null || typeof result !== 'object') throw bad(String(result))
    if ('notModified' in result) {
      if (result.notModified !== true || !conditional) throw bad('notModified to a head that was not conditional')
      return result
    }
    if ('entries' in result) {
      if (!Array.isArray(result.entries)) throw bad('entries that are not an array')
      for (const entry of result.entries as DirectoryEntry[]) {
        if (entry === null || typeof entry !== 'object' || typeof entry.path !== 'string' || !isByteCount(entry.size)) throw bad(`the entry ${JSON.stringify(entry)}`)
      }
      return result
    }
    if (!isByteCount(result.size)) throw bad(`a size of ${String(result.size)}`)
    for (const field of ['etag', 'lastModified', 'contentType'] as const) {
      if (result[field] !== undefined && typeof result[field] !== 'string') throw bad(`a ${field} that is not a string`)
    }
    return result
  }
}

function isByteCount (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
