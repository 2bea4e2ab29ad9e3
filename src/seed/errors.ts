import { Aborted, Internal, MalformedMessage, NotFound, Permission, RateLimited, RequestTooLarge, Timeout } from '../../protocol/errors.js'
import {
  OriginBadResponse, OriginChanged, OriginDenied, OriginError, OriginForbiddenAddress, OriginNotFound, OriginRangeIgnored, OriginTimeout, OriginUnavailable
} from '../origin/errors.js'
import type { WireError } from './interface.js'

/**
 * An error a seed named that this side has no class for (UnsupportedScheme, StoreFull, ...):
 * `name` is the seed's, as it sent it.
 */
export class SeedFailed extends Error {
  static override name = 'SeedFailed'
  constructor (name: string, message: string) {
    super(message)
    this.name = name === '' ? 'SeedFailed' : name
  }
}

/**
 * What a seed sends for `err`: its name and message, and an origin error's URL (the safe one) and
 * status. An address the seed would not connect to for the requester is Permission: the seed's
 * policy refused, as for a URL outside its prefixes (the message names the host and the way to allow it).
 */
export function toWire (err: Error): WireError {
  if (err instanceof OriginForbiddenAddress) return { type: 'error', name: 'Permission', message: err.message.slice(0, 4096) }
  const wire: WireError = { type: 'error', name: err.name, message: err.message.slice(0, 4096) }
  if (err instanceof OriginError) {
    wire.url = err.url
    if (err.status !== undefined) wire.status = err.status
    if (err instanceof OriginUnavailable && err.retryAfterMs !== undefined) wire.retryAfterMs = err.retryAfterMs
    if (err instanceof OriginTimeout) wire.timeoutMs = err.timeoutMs
  }
  return wire
}

type OriginClass = new (url: string, detail?: string, options?: { status?: number, retryAfterMs?: number }) => OriginError

const ORIGIN_ERRORS: Record<string, OriginClass> = {
  OriginNotFound, OriginDenied, OriginUnavailable, OriginChanged, OriginBadResponse, OriginRangeIgnored
}

const PLAIN_ERRORS: Record<string, new (message: string) => Error> = {
  Permission, RateLimited, Timeout, Aborted, Internal, MalformedMessage
}

/**
 * The error a seed sent, as the class this side has for its name (so `err.name` and, for an
 * origin error, `url` and `status` are as the seed raised them); a name with no class here is a
 * SeedFailed carrying that name.
 */
export function fromWire (wire: WireError): Error {
  const message = wire.message
  const url = wire.url
  if (url !== undefined) {
    const detail = message.endsWith(`: ${url}`) ? message.slice(0, -url.length - 2) : message
    const options = { ...(wire.status === undefined ? {} : { status: wire.status }), ...(wire.retryAfterMs === undefined ? {} : { retryAfterMs: wire.retryAfterMs }) }
    if (wire.name === 'OriginTimeout') return new OriginTimeout(url, wire.timeoutMs ?? 0, detail, options)
    const Class = ORIGIN_ERRORS[wire.name]
    if (Class !== undefined) return new Class(url, detail, options)
  }
  if (wire.name === 'RequestTooLarge') return new RequestTooLarge('', 0, 0, message)
  if (wire.name === 'NotFound') return new NotFound('', message)
  const Plain = PLAIN_ERRORS[wire.name]
  if (Plain !== undefined) return new Plain(message)
  return new SeedFailed(wire.name, message)
}
