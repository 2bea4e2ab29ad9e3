import type { Blake3Core } from '../../../store/bao/interface.js'
import { PortableCore } from '../../../store/bao/portable-core.js'
import { WasmCore } from '../../../store/bao/wasm-core.js'

/**
 * Every BLAKE3 core; each hashing suite runs once per core. The WASM kernel is built by
 * `npm run build`, which `npm test` runs first, so it must load here: a failure is a failure.
 */
export function allCores (): Blake3Core[] {
  return [new PortableCore(), WasmCore.create()]
}
