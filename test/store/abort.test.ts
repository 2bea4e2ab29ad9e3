import assert from 'node:assert/strict'
import { untilAborted } from '../../store/abort.js'
import { rejection } from '../helpers.js'

describe('untilAborted', () => {
  it('rejects with the signal\'s reason at once, and what it left behind failing later is no unhandled rejection', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)
    try {
      const failures: Array<(err: Error) => void> = []
      const pending = (): Promise<never> => new Promise<never>((_resolve, reject) => { failures.push(reject) })
      // Aborted while it waits.
      const controller = new AbortController()
      const waiting = rejection(() => untilAborted(pending(), controller.signal))
      controller.abort(new Error('stop'))
      assert.equal((await waiting).message, 'stop')
      // Aborted already when called: `untilAborted(iterator.next(), signal)` starts the read first.
      assert.equal((await rejection(() => untilAborted(pending(), controller.signal))).message, 'stop')
      // The reads the caller gave up on fail afterwards (as a stream reset with the abort's reason does).
      for (const fail of failures) fail(new Error('the stream failed'))
      await new Promise(resolve => setTimeout(resolve, 10))
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('passes the promise\'s own result or failure through while the signal has not fired', async () => {
    const signal = new AbortController().signal
    assert.equal(await untilAborted(Promise.resolve(5), signal), 5)
    assert.equal((await rejection(() => untilAborted(Promise.reject(new Error('own')), signal))).message, 'own')
    assert.equal(await untilAborted(7, undefined), 7)
  })
})
