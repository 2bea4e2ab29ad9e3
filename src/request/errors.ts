/** A call on a request client, or the request SDK, after close(). */
export class ClientClosed extends Error {
  static override name = 'ClientClosed'
  constructor (message = 'the request client is closed') {
    super(message)
    this.name = 'ClientClosed'
  }
}

/** sendRequest's answer had an error status. */
export class RequestFailed extends Error {
  static override name = 'RequestFailed'
  readonly status: number
  readonly body: Uint8Array
  constructor (status: number, body: Uint8Array, message = `the server answered ${status}`) {
    super(message)
    this.name = 'RequestFailed'
    this.status = status
    this.body = body
  }
}

/** One seed could not be reached (refused, reset, unreachable, timed out connecting); `cause` says how. */
export class SeedUnavailable extends Error {
  static override name = 'SeedUnavailable'
  readonly seed: string
  constructor (seed: string, cause?: Error, message = `seed ${seed} is unavailable${cause === undefined ? '' : `: ${cause.message}`}`) {
    super(message, cause === undefined ? {} : { cause })
    this.name = 'SeedUnavailable'
    this.seed = seed
  }
}

/** No seed could take a request: each one tried, with why; `down` lists those skipped while backing off. */
export class NoSeedAvailable extends Error {
  static override name = 'NoSeedAvailable'
  readonly tried: ReadonlyArray<{ seed: string, error: Error }>
  readonly down: readonly string[]
  constructor (tried: ReadonlyArray<{ seed: string, error: Error }>, down: readonly string[] = []) {
    const list = tried.map(t => `${t.seed} (${t.error.name}: ${t.error.message})`).join(', ')
    super(tried.length === 0 && down.length === 0 ? 'no seed is configured' : `no seed could take the request; tried ${list === '' ? 'none' : list}${down.length === 0 ? '' : `; down: ${down.join(', ')}`}`)
    this.name = 'NoSeedAvailable'
    this.tried = tried
    this.down = down
  }
}

/** getInto's buffer cannot hold the body; raised before any byte is written. */
export class BufferTooSmall extends Error {
  static override name = 'BufferTooSmall'
  readonly needed: number
  readonly available: number
  constructor (needed: number, available: number) {
    super(`the body needs ${needed} bytes, the buffer holds ${available}`)
    this.name = 'BufferTooSmall'
    this.needed = needed
    this.available = available
  }
}

/**
 * A seed's answer is not what was asked: not the verifiable encoding when verification is on, a
 * range other than the one asked, a size or a blob other than the one named before (another seed
 * resuming a body, or the caller's `hash`). The request goes on at the next seed when one is left.
 */
export class SeedAnswerInvalid extends Error {
  static override name = 'SeedAnswerInvalid'
  readonly seed: string
  /**
   * The seed named another blob, or another size, than expected: the origin's file, or the seed
   * that named the first (a size is proven only by the blob's last group), not this seed, may be
   * what is wrong (the seed is not marked down).
   */
  readonly otherBlob: boolean
  constructor (seed: string, why: string, options: { otherBlob?: boolean } = {}) {
    super(`seed ${seed} answered wrongly: ${why}`)
    this.name = 'SeedAnswerInvalid'
    this.seed = seed
    this.otherBlob = options.otherBlob ?? false
  }
}
