import type { Blake3Core } from '../../../store/bao/interface.js'
import { NativeCore } from '../../../store/bao/native-core.js'
import { PortableCore } from '../../../store/bao/portable-core.js'
import { WasmCore } from '../../../store/bao/wasm-core.js'

/**
 * Every BLAKE3 core; each hashing suite runs once per core. The WASM kernel is built by
 * `npm run build`, which `npm test` runs first, so it must load here: a failure is a failure. The
 * native one is built where a C compiler and Node's headers are (native.test.ts checks that it
 * is wherever they are).
 */
export function allCores (): Blake3Core[] {
  const native = NativeCore.tryCreate()
  return [new PortableCore(), WasmCore.create(), ...(native === undefined ? [] : [native])]
}
