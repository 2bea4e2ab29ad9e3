import fc from 'fast-check'
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

/**
 * Chunk counters for the cores' property tests: small ones, around the 32-bit carry (a batch of
 * lanes may straddle it) and far above it, up to near 2^53.
 */
export const arbCounter = fc.oneof(
  fc.nat(1 << 20),
  fc.integer({ min: 2 ** 32 - 40, max: 2 ** 32 + 40 }),
  fc.integer({ min: 2 ** 32, max: 2 ** 48 }),
  fc.constantFrom(2 ** 53 - 4096, 2 ** 33 - 3)
)
