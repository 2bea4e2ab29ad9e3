/**
 * Named errors of the wire protocol; callers tell them apart by `err.name`. MalformedMessage is
 * shared with the store's codecs, NotFound with the store (a peer lacking a blob and the local
 * store lacking it are the same condition to a caller).
 */
export { MalformedMessage } from '../store/codec/errors.js'
export { NotFound } from '../store/errors.js'

/** The provider's policy refused this request (or the receiver refused a push). */
export class Permission extends Error {
  static override name = 'Permission'
  constructor (message = 'the peer refused the request') {
    super(message)
    this.name = 'Permission'
  }
}

/** The provider is throttling: try again later or elsewhere. */
export class RateLimited extends Error {
  static override name = 'RateLimited'
  constructor (message = 'the peer is rate limiting requests') {
    super(message)
    this.name = 'RateLimited'
  }
}

/** The provider failed on its side (corrupt local data, a full disk, a bug). */
export class Internal extends Error {
  static override name = 'Internal'
  constructor (message = 'the peer failed while serving the request') {
    super(message)
    this.name = 'Internal'
  }
}

/**
 * A request asks for more than the provider's limits allow (protocol/limits.ts): too many ranges
 * or entries, or too many bytes. `limit` names the limit; a requester may split the request.
 */
export class RequestTooLarge extends Error {
  static override name = 'RequestTooLarge'
  constructor (readonly limit = '', readonly value = 0, readonly max = 0,
    message = limit === '' ? 'the request is over the peer\'s limits' : `${limit}: ${value} is over ${max}`) {
    super(message)
    this.name = 'RequestTooLarge'
  }
}

/** The stream was reset or ended without the provider's end frame: the peer went away. */
export class Aborted extends Error {
  static override name = 'Aborted'
  constructor (message = 'the stream ended without the peer saying why') {
    super(message)
    this.name = 'Aborted'
  }
}

/** Something took longer than its timeout (connecting, a request, an idle peer). */
export class Timeout extends Error {
  static override name = 'Timeout'
  constructor (message = 'timed out') {
    super(message)
    this.name = 'Timeout'
  }
}

/**
 * A peer sent less than the minimum rate over a whole window (a provider that drips a byte now and
 * then to hold a request open). `bytes` arrived in the last `windowMs`.
 */
export class TooSlow extends Error {
  static override name = 'TooSlow'
  constructor (readonly bytes = 0, readonly windowMs = 0, readonly minBytesPerSecond = 0,
    message = `${bytes} bytes in ${windowMs} ms, below the minimum of ${minBytesPerSecond} bytes/s`) {
    super(message)
    this.name = 'TooSlow'
  }
}
