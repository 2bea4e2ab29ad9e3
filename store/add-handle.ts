import type { AddHandle, AddProgress, AddResult } from './interface.js'
import { ProgressHandle } from './progress-handle.js'

/**
 * Runs an add now and returns its handle: awaiting gives the result, iterating gives progress
 * items (`add:progress`) ending with `add:done`. Unread progress is coalesced (only the latest `progress` is kept), so
 * a caller that never iterates costs nothing.
 */
export function startAdd (run: (emit: (item: AddProgress) => void) => Promise<AddResult>): AddHandle {
  return new ProgressHandle<AddResult, AddProgress>(async emit => {
    const value = await run(emit)
    emit({ type: 'add:done', detail: { hash: value.hash, size: value.size, tag: value.tag } })
    return value
  }, { coalesce: item => item.type === 'add:progress' })
}
