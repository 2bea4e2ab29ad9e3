import type { Bitfield } from './interface.js'

interface Watcher { latest: Bitfield | undefined, wake: (() => void) | undefined }

/**
 * Per-blob watchers of the bitfield. A slow watcher sees the latest state, never a backlog: each
 * keeps one unseen value, replaced by newer ones.
 */
export class Observers {
  private readonly watchers = new Map<string, Set<Watcher>>()
  /** Grows by one with every change told, watched or not. */
  revision = 0

  notify (hex: string, bitfield: Bitfield): void {
    this.revision++
    for (const watcher of this.watchers.get(hex) ?? []) {
      watcher.latest = bitfield
      watcher.wake?.()
    }
  }

  async * watch (hex: string, current: () => Promise<Bitfield>, signal?: AbortSignal): AsyncGenerator<Bitfield> {
    const watcher: Watcher = { latest: undefined, wake: undefined }
    let set = this.watchers.get(hex)
    if (set === undefined) {
      set = new Set()
      this.watchers.set(hex, set)
    }
    set.add(watcher)
    const onAbort = (): void => watcher.wake?.()
    signal?.addEventListener('abort', onAbort)
    try {
      yield await current()
      while (true) {
        signal?.throwIfAborted()
        if (watcher.latest !== undefined) {
          const next = watcher.latest
          watcher.latest = undefined
          yield next
          continue
        }
        await new Promise<void>(resolve => { watcher.wake = resolve })
        watcher.wake = undefined
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      set.delete(watcher)
      if (set.size === 0) this.watchers.delete(hex)
    }
  }
}
