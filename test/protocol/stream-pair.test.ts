import assert from 'node:assert/strict'
import { collect, concat, randomBytes, rejection } from '../helpers.js'
import { streamPair } from './stream-pair.js'

/** The helper's own semantics: the protocol tests trust them, so they are checked first. */
describe('in-memory stream pair', () => {
  it('carries bytes both ways, each source ending when the other side closes its write', async () => {
    const [a, b] = streamPair({ sliceSize: 3 })
    const sent = randomBytes(10, 1)
    await a.stream.write(sent)
    await a.stream.closeWrite()
    const received = await collect(b.stream.source)
    assert.deepEqual(received.map(p => p.length), [3, 3, 3, 1], 'pieces cut at sliceSize')
    assert.deepEqual(concat(received), sent)
    assert.equal(b.stream.closed.aborted, false, 'b still writes')
    await b.stream.write(Uint8Array.of(7))
    await b.stream.closeWrite()
    assert.deepEqual(concat(await collect(a.stream.source)), Uint8Array.of(7))
    assert.ok(a.stream.closed.aborted && b.stream.closed.aborted, 'closed once both writes are')
    assert.equal((await rejection(() => a.stream.write(Uint8Array.of(1)))).name, 'StreamStateError')
  })

  it('holds a writer back while the reader is more than highWaterMark behind', async () => {
    const [a, b] = streamPair({ highWaterMark: 100 })
    await a.stream.write(new Uint8Array(100))
    let done = false
    const second = a.stream.write(new Uint8Array(50)).then(() => { done = true })
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(done, false, 'the write waits')
    assert.equal(a.unread, 150)
    const iterator = b.stream.source[Symbol.asyncIterator]()
    await iterator.next()
    await second
    assert.equal(a.unread, 50)
  })

  it('a reset reaches the other side after what was already written, and fails its writes', async () => {
    const [a, b] = streamPair({ highWaterMark: 10 })
    await a.stream.write(Uint8Array.of(1, 2))
    const waiting = b.stream.write(new Uint8Array(20)) // over the mark: waits for a
    a.stream.abort(new Error('gone'))
    assert.ok(a.stream.closed.aborted && b.stream.closed.aborted)
    assert.equal((await rejection(() => waiting)).name, 'StreamResetError')
    const iterator = b.stream.source[Symbol.asyncIterator]()
    assert.deepEqual((await iterator.next()).value, Uint8Array.of(1, 2))
    assert.equal((await rejection(() => iterator.next())).name, 'StreamResetError')
    assert.equal((await rejection(() => collect(a.stream.source))).message, 'gone', 'our own source fails with our reason')
    assert.equal((await rejection(() => b.stream.write(Uint8Array.of(1)))).name, 'StreamResetError')
  })

  it('closeRead drops what is queued and what comes, and the writer is not held back', async () => {
    const [a, b] = streamPair({ highWaterMark: 10 })
    await a.stream.write(new Uint8Array(5))
    await b.stream.closeRead()
    await a.stream.write(new Uint8Array(1000)) // would wait if it were kept
    assert.equal(a.unread, 0)
    assert.equal(a.written, 1005)
    assert.deepEqual(await collect(b.stream.source), [])
    await b.stream.closeWrite()
    assert.equal(b.stream.closed.aborted, true, 'b wrote and reads no more')
    assert.equal(a.stream.closed.aborted, false, 'a may still write')
  })
})
