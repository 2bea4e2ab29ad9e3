import type { Blake3Core } from './interface.js'
import { PortableCore } from './portable-core.js'

let current: Blake3Core | undefined

/** The core used wherever the tree hashes and no core is passed explicitly. */
export function defaultCore (): Blake3Core {
  current ??= new PortableCore()
  return current
}

/** Replace the default core (tests run the suites once per core). Returns the previous one. */
export function setDefaultCore (core: Blake3Core): Blake3Core {
  const previous = defaultCore()
  current = core
  return previous
}
