import { DuplicateScheme, UnsupportedScheme } from './errors.js'
import type { OriginBackend } from './interface.js'

/** A backend as registered: where it came from (`built-in`, `code`, or its plugin file). */
export interface RegisteredBackend {
  backend: OriginBackend
  source: string
}

/** Which backend serves which URL scheme; a scheme is served by one backend only. */
export class BackendRegistry {
  private readonly bySchemes = new Map<string, RegisteredBackend>()
  private readonly all: RegisteredBackend[] = []

  /** Registers every scheme of `backend`, or none: DuplicateScheme naming both when one is taken. */
  add (backend: OriginBackend, source: string): void {
    const checked = checkBackend(backend)
    for (const scheme of checked.schemes) {
      const taken = this.bySchemes.get(scheme.toLowerCase())
      if (taken !== undefined) throw new DuplicateScheme(scheme, describe(taken), describe({ backend: checked, source }))
    }
    const entry = { backend: checked, source }
    for (const scheme of checked.schemes) this.bySchemes.set(scheme.toLowerCase(), entry)
    this.all.push(entry)
  }

  /** The backend for `url`'s scheme; UnsupportedScheme naming those served. */
  for (url: URL): OriginBackend {
    const scheme = url.protocol.slice(0, -1).toLowerCase()
    const entry = this.bySchemes.get(scheme)
    if (entry === undefined) throw new UnsupportedScheme(scheme, [...this.bySchemes.keys()].sort())
    return entry.backend
  }

  list (): RegisteredBackend[] {
    return [...this.all]
  }

  /** Closes every backend; one that fails to close does not keep the others open. */
  async close (): Promise<unknown[]> {
    const results = await Promise.allSettled(this.all.map(async entry => { await entry.backend.close?.() }))
    return results.flatMap(result => result.status === 'rejected' ? [result.reason] : [])
  }
}

/** `value` if it has the shape of a backend; a TypeError saying what is wrong otherwise. */
export function checkBackend (value: unknown): OriginBackend {
  if (value === null || typeof value !== 'object') throw new TypeError(`a backend must be an object, got ${value === null ? 'null' : typeof value}`)
  const backend = value as Partial<OriginBackend>
  if (typeof backend.name !== 'string' || backend.name === '') throw new TypeError('a backend needs a name (a non-empty string)')
  if (!Array.isArray(backend.schemes) || backend.schemes.length === 0) throw new TypeError(`backend ${backend.name} needs schemes (a non-empty array)`)
  for (const scheme of backend.schemes as unknown[]) {
    if (typeof scheme !== 'string' || !/^[a-z][a-z0-9+.-]*$/i.test(scheme)) throw new TypeError(`backend ${backend.name}: ${JSON.stringify(scheme)} is not a URL scheme (give it without the colon)`)
  }
  if (typeof backend.head !== 'function') throw new TypeError(`backend ${backend.name} has no head function`)
  if (typeof backend.get !== 'function') throw new TypeError(`backend ${backend.name} has no get function`)
  if (backend.close !== undefined && typeof backend.close !== 'function') throw new TypeError(`backend ${backend.name}: close must be a function`)
  return backend as OriginBackend
}

function describe (entry: RegisteredBackend): string {
  return entry.source === entry.backend.name ? entry.backend.name : `${entry.backend.name} (${entry.source})`
}
