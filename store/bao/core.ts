import type { Blake3Core } from './interface.js'
import { PortableCore } from './portable-core.js'
import { WasmCore } from './wasm-core.js'

let current: Blake3Core | undefined

/**
 * The core used wherever the tree hashes and no core is passed explicitly: the WebAssembly SIMD
 * kernel where it runs, else the portable one. `VERITY_BLAKE3_CORE=portable` forces the portable
 * core (for runtimes without WASM SIMD, or to compare).
 */
export function defaultCore (): Blake3Core {
  if (current === undefined) {
    const forcePortable = process.env.VERITY_BLAKE3_CORE === 'portable'
    current = (forcePortable ? undefined : WasmCore.tryCreate()) ?? new PortableCore()
  }
  return current
}

/** Replace the default core (tests run the suites once per core). Returns the previous one. */
export function setDefaultCore (core: Blake3Core): Blake3Core {
  const previous = defaultCore()
  current = core
  return previous
}
