import type { Blake3Core } from '../../../store/bao/interface.js'
import { PortableCore } from '../../../store/bao/portable-core.js'

/** Every BLAKE3 core; each hashing suite runs once per core. */
export function allCores (): Blake3Core[] {
  return [new PortableCore()]
}
