import assert from 'node:assert/strict'
import { sliced, rejection } from '../../helpers.js'
import { encodeFrame, FrameReader } from '../../../src/seed/frames.js'
import { decodeSeedAnswer, decodeSeedRequest } from '../../../src/seed/messages.js'
import { fromWire, toWire } from '../../../src/seed/errors.js'
import { OriginNotFound, OriginTimeout, OriginUnavailable } from '../../../src/origin/errors.js'
import { RateLimited } from '../../../protocol/errors.js'

describe('seed messages: frames, checks, errors by name', () => {
  it('frames read back at every split point', async () => {
    const messages = [{ type: 'task', url: 'http://h/p' }, { type: 'preheatStatus', id: 'ab' }]
    const bytes = Buffer.concat(messages.map(m => encodeFrame(m)))
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new FrameReader(sliced(bytes, [cut]), 1024)
      assert.deepEqual([await reader.next(), await reader.next(), await reader.next()], [...messages, undefined], `cut at ${cut}`)
    }
  })

  it('bad frames: too long (refused from the prefix alone), cut short, not JSON, not an object', async () => {
    const cases: Array<[Uint8Array, string]> = [
      [Uint8Array.of(0, 1, 0, 1), 'RequestTooLarge'],
      [encodeFrame({ a: 1 }).subarray(0, 6), 'MalformedMessage'],
      [Uint8Array.of(0, 0), 'MalformedMessage'],
      [Uint8Array.of(0, 0, 0, 2, 0x7b, 0x7b), 'MalformedMessage'],
      [encodeFrame([1, 2]), 'MalformedMessage'],
      [Uint8Array.of(0, 0, 0, 1, 0xff), 'MalformedMessage']
    ]
    for (const [bytes, name] of cases) {
      assert.equal((await rejection(async () => await new FrameReader(sliced(bytes), 1024).next())).name, name, Buffer.from(bytes).toString('hex'))
    }
  })

  it('requests and answers are checked field by field', () => {
    const bad: Array<Record<string, unknown>> = [
      {}, { type: 'nope' }, { type: 'task' }, { type: 'task', url: 1 }, { type: 'task', url: 'x', filter: 'a' },
      { type: 'task', url: 'x', filter: [1] }, { type: 'task', url: 'x', headers: { a: 1 } }, { type: 'task', url: 'x', headers: [] },
      { type: 'task', url: 'x', tag: 5 }, { type: 'preheat', urls: [] }, { type: 'preheat', urls: [3] }, { type: 'preheatStatus' }
    ]
    for (const message of bad) assert.throws(() => decodeSeedRequest(message), { name: 'MalformedMessage' }, JSON.stringify(message))
    assert.deepEqual(decodeSeedRequest({ type: 'task', url: 'u', filter: ['t'], tag: 'v', headers: { a: 'b' }, extra: 1 }), { type: 'task', url: 'u', filter: ['t'], tag: 'v', headers: { a: 'b' } })
    const badAnswers: Array<Record<string, unknown>> = [
      { type: 'task', taskId: 't', hash: 'AB', size: 1, format: 'raw', source: 'origin' },
      { type: 'task', taskId: 't', hash: '0'.repeat(64), size: -1, format: 'raw', source: 'origin' },
      { type: 'task', taskId: 't', hash: '0'.repeat(64), size: 1, format: 'zip', source: 'origin' },
      { type: 'progress', bytes: 1.5 }, { type: 'error', name: 'X' }, { type: 'preheat', status: {} }
    ]
    for (const message of badAnswers) assert.throws(() => decodeSeedAnswer(message), { name: 'MalformedMessage' }, JSON.stringify(message))
  })

  it('errors cross by name, an origin error with its URL, status and retry hint', () => {
    const notFound = fromWire(toWire(new OriginNotFound('http://h/p', 'the origin answered 404 Not Found', { status: 404 }))) as OriginNotFound
    assert.ok(notFound instanceof OriginNotFound)
    assert.equal(notFound.message, 'the origin answered 404 Not Found: http://h/p')
    assert.equal(notFound.status, 404)
    const busy = fromWire(toWire(new OriginUnavailable('http://h/p', 'busy', { status: 503, retryAfterMs: 2000 }))) as OriginUnavailable
    assert.equal(busy.retryAfterMs, 2000)
    assert.equal((fromWire(toWire(new OriginTimeout('http://h/p', 30000))) as OriginTimeout).timeoutMs, 30000)
    assert.ok(fromWire(toWire(new RateLimited('full'))) instanceof RateLimited)
    const other = fromWire({ type: 'error', name: 'StoreFull', message: 'disk full' })
    assert.equal(other.name, 'StoreFull')
    assert.equal(other.message, 'disk full')
  })
})
