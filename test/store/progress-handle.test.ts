import assert from 'node:assert/strict'
import { ProgressHandle } from '../../store/progress-handle.js'
import { collect, rejection } from '../helpers.js'

type Item = { type: 'progress', n: number } | { type: 'step', n: number }

describe('ProgressHandle: await for the result, iterate for progress', () => {
  it('gives the result to an await and every item, with unread progress coalesced, to an iteration', async () => {
    let emit: (item: Item) => void = () => {}
    let finish: (value: string) => void = () => {}
    const handle = new ProgressHandle<string, Item>(async e => { emit = e; return await new Promise<string>(resolve => { finish = resolve }) },
      { coalesce: item => item.type === 'progress' })
    emit({ type: 'progress', n: 1 })
    emit({ type: 'progress', n: 2 }) // replaces 1: both unread
    emit({ type: 'step', n: 3 })
    emit({ type: 'progress', n: 4 })
    finish('done')
    assert.equal(await handle, 'done')
    assert.deepEqual(await collect(handle), [{ type: 'progress', n: 2 }, { type: 'step', n: 3 }, { type: 'progress', n: 4 }])
  })

  it('keeps at most maxQueued items for a reader that is behind, dropping progress first', async () => {
    const handle = new ProgressHandle<number, Item>(async emit => {
      for (let n = 0; n < 10; n++) emit(n % 2 === 0 ? { type: 'step', n } : { type: 'progress', n })
      return 1
    }, { coalesce: item => item.type === 'progress', maxQueued: 5 })
    await handle
    const items = await collect(handle)
    assert.equal(items.length, 5)
    assert.deepEqual(items.filter(i => i.type === 'step').map(i => i.n), [0, 2, 4, 6, 8], 'no step lost while progress could go')
  })

  it('ends an iteration with the operation\'s error after its items, and never rejects unhandled', async () => {
    const handle = new ProgressHandle<number, Item>(async emit => {
      emit({ type: 'step', n: 1 })
      throw new RangeError('failed')
    })
    const seen: Item[] = []
    const err = await rejection(async () => { for await (const item of handle) seen.push(item) })
    assert.equal(err.message, 'failed')
    assert.deepEqual(seen, [{ type: 'step', n: 1 }])
    assert.equal((await rejection(async () => await handle)).message, 'failed')
  })
})
