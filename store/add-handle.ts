import type { AddHandle, AddProgress, AddResult } from './interface.js'

/**
 * Runs an add now and returns its handle: awaiting gives the result, iterating gives progress
 * items ending with `done`. Unread progress is coalesced (only the latest `progress` is kept), so
 * a caller that never iterates costs nothing.
 */
export function startAdd (run: (emit: (item: AddProgress) => void) => Promise<AddResult>): AddHandle {
  const queue: AddProgress[] = []
  let wake: (() => void) | undefined
  let finished = false
  let failure: unknown
  const emit = (item: AddProgress): void => {
    const last = queue[queue.length - 1]
    if (item.type === 'progress' && last?.type === 'progress') queue[queue.length - 1] = item
    else queue.push(item)
    wake?.()
  }
  const result = run(emit).then(value => {
    emit({ type: 'done', hash: value.hash, size: value.size, tag: value.tag })
    return value
  }, (err: unknown) => {
    failure = err
    throw err
  }).finally(() => {
    finished = true
    wake?.()
  })
  result.catch(() => {}) // the error reaches whoever awaits or iterates; never unhandled
  return {
    then: (onFulfilled, onRejected) => result.then(onFulfilled, onRejected),
    async * [Symbol.asyncIterator] () {
      while (true) {
        const item = queue.shift()
        if (item !== undefined) {
          yield item
          if (item.type === 'done') return
          continue
        }
        if (finished) {
          if (failure !== undefined) throw failure
          return
        }
        await new Promise<void>(resolve => { wake = resolve })
        wake = undefined
      }
    }
  }
}
