import type { Blake3Core } from './interface.js'
import { nativeAllowed, NativeCore } from './native-core.js'
import { PortableCore } from './portable-core.js'
import { WasmCore } from './wasm-core.js'

let current: Blake3Core | undefined

/**
 * The core used wherever the tree hashes and no core is passed explicitly: the native kernel
 * where it was built and has 8 lanes or more, else the WebAssembly SIMD kernel where it runs,
 * else the portable one. `VERITY_BLAKE3_CORE=wasm` or `=portable` starts the choice there (to
 * compare, or for a runtime where the faster ones misbehave), and keeps the native module out of
 * file reads too (FsFile's page-cache reads).
 */
export function defaultCore (): Blake3Core {
  if (current === undefined) {
    const from = process.env.VERITY_BLAKE3_CORE
    current = (nativeAllowed() ? NativeCore.tryCreate() : undefined) ??
      (from === 'portable' ? undefined : WasmCore.tryCreate()) ?? new PortableCore()
  }
  return current
}

/** Replace the default core (tests run the suites once per core). Returns the previous one. */
export function setDefaultCore (core: Blake3Core): Blake3Core {
  const previous = defaultCore()
  current = core
  return previous
}
