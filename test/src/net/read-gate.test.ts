import assert from 'node:assert/strict'
import { ReadGate } from '../../../src/net/transport-fixes/read-gate.js'

/** Whether `promise` settles within a few turns of the event loop. */
async function settles (promise: Promise<void>): Promise<boolean> {
  let done = false
  void promise.then(() => { done = true })
  await new Promise(resolve => setImmediate(resolve))
  return done
}

describe('ReadGate (the QUIC read loop\'s pause)', () => {
  it('passes at once while open', async () => {
    assert.equal(await settles(new ReadGate().passed()), true)
  })

  it('holds every waiter until opened, then lets them all pass', async () => {
    const gate = new ReadGate()
    gate.hold()
    const waiters = [gate.passed(), gate.passed()]
    assert.equal(await settles(Promise.all(waiters).then(() => {})), false)
    gate.open()
    assert.equal(await settles(Promise.all(waiters).then(() => {})), true)
  })

  it('a second hold is the same hold: one open lets waiters pass', async () => {
    const gate = new ReadGate()
    gate.hold()
    gate.hold()
    const waiting = gate.passed()
    gate.open()
    assert.equal(await settles(waiting), true)
  })

  it('held again before a waiter ran: the waiter waits for the next open', async () => {
    const gate = new ReadGate()
    gate.hold()
    const waiting = gate.passed()
    gate.open()
    gate.hold()
    assert.equal(await settles(waiting), false)
    gate.open()
    assert.equal(await settles(waiting), true)
  })

  it('open without a hold does nothing', async () => {
    const gate = new ReadGate()
    gate.open()
    assert.equal(await settles(gate.passed()), true)
  })
})
