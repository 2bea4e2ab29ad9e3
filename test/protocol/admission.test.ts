import assert from 'node:assert/strict'
import { ByteBudget, Slots } from '../../protocol/provider/admission.js'
import { rejection } from '../helpers.js'

describe('admission: places with a bounded queue, and a byte budget', () => {
  it('grants places in arrival order, queues up to maxWaiting, then refuses with RateLimited', async () => {
    const slots = new Slots('test', 2, 2)
    const order: number[] = []
    const first = await slots.acquire()
    const second = await slots.acquire()
    const third = slots.acquire().then(release => { order.push(3); return release })
    const fourth = slots.acquire().then(release => { order.push(4); return release })
    assert.equal((await rejection(() => slots.acquire())).name, 'RateLimited')
    assert.deepEqual([slots.inUse, slots.queued], [2, 2])
    first()
    first() // a second release of the same place changes nothing
    const releaseThird = await third
    assert.deepEqual(order, [3])
    second()
    const releaseFourth = await fourth
    assert.deepEqual(order, [3, 4])
    releaseThird()
    releaseFourth()
    assert.deepEqual([slots.inUse, slots.queued], [0, 0])
  })

  it('a waiter whose requester went away leaves the queue, and its place goes to the next', async () => {
    const slots = new Slots('test', 1, 4)
    const held = await slots.acquire()
    const gone = new AbortController()
    const leaving = rejection(() => slots.acquire(gone.signal))
    const staying = slots.acquire()
    gone.abort(new Error('requester went away'))
    assert.equal((await leaving).message, 'requester went away')
    assert.equal(slots.queued, 1)
    held()
    const release = await staying
    assert.deepEqual([slots.inUse, slots.queued], [1, 0])
    release()
    assert.equal(slots.inUse, 0)
  })

  it('a byte budget refuses what would pass it and takes back what is given', () => {
    const budget = new ByteBudget('bytes', 100)
    budget.take(60)
    assert.throws(() => budget.take(41), { name: 'RateLimited' })
    budget.take(40)
    budget.give(100)
    assert.equal(budget.inUse, 0)
    budget.give(5)
    assert.equal(budget.inUse, 0, 'never below zero')
  })
})
