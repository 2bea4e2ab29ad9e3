import assert from 'node:assert/strict'
import { OriginDenied, OriginTimeout, OriginUnavailable } from '../../../src/origin/errors.js'
import { DEFAULT_RETRY, parseRetryAfter, retryDelay } from '../../../src/origin/backends/retry.js'

describe('origins: the HTTP retry policy', () => {
  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')
    assert.equal(parseRetryAfter('120', now), 120000)
    assert.equal(parseRetryAfter(' 0 ', now), 0)
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now), 30000)
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now), 0, 'a date gone by: at once')
    assert.equal(parseRetryAfter('soon', now), undefined)
    assert.equal(parseRetryAfter(undefined, now), undefined)
  })

  it('retries transient failures only, with doubling backoff and jitter, as often as the policy says', () => {
    const unavailable = new OriginUnavailable('http://h/')
    const half = (): number => 0
    const full = (): number => 1
    assert.equal(retryDelay(unavailable, 1, DEFAULT_RETRY, half), 125)
    assert.equal(retryDelay(unavailable, 1, DEFAULT_RETRY, full), 250)
    assert.equal(retryDelay(unavailable, 3, DEFAULT_RETRY, full), 1000)
    assert.equal(retryDelay(unavailable, 4, DEFAULT_RETRY, full), undefined, 'three retries, then no more')
    assert.equal(retryDelay(new OriginTimeout('http://h/', 100), 1, DEFAULT_RETRY, full), 250)
    assert.equal(retryDelay(new OriginDenied('http://h/'), 1, DEFAULT_RETRY), undefined)
    assert.equal(retryDelay(new Error('a bug'), 1, DEFAULT_RETRY), undefined)
    assert.equal(retryDelay(unavailable, 9, { ...DEFAULT_RETRY, retries: 20 }, full), 5000, 'at most 5 s')
  })

  it('waits as long as Retry-After asks, up to the policy\'s limit; asked for longer, it fails at once', () => {
    assert.equal(retryDelay(new OriginUnavailable('http://h/', '503', { retryAfterMs: 2000 }), 1, DEFAULT_RETRY), 2000)
    assert.equal(retryDelay(new OriginUnavailable('http://h/', '503', { retryAfterMs: 3600000 }), 1, DEFAULT_RETRY), undefined)
  })
})
