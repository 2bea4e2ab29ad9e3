import type { BlobStore } from '../../../store/interface.js'

/**
 * A store whose encoded responses carry one flipped byte in their first 16 KiB group: a lying
 * provider for tests. It has no exportBaoBatches, so a provider serves it through exportBao.
 */
export function corrupting (store: BlobStore): BlobStore {
  return new Proxy(store, {
    get (target, key, receiver) {
      if (key === 'exportBaoBatches') return undefined
      if (key !== 'exportBao') {
        const value = Reflect.get(target, key, receiver) as unknown
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      }
      return async function * (...args: Parameters<BlobStore['exportBao']>): AsyncGenerator<Uint8Array> {
        let flipped = false
        for await (const piece of target.exportBao(...args)) {
          if (flipped || piece.length < 1024) { yield piece; continue }
          const copy = piece.slice()
          copy[100] = (copy[100] as number) ^ 1
          flipped = true
          yield copy
        }
      }
    }
  })
}
