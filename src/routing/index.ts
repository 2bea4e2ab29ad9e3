export { HashRing, DEFAULT_VIRTUAL_NODES, type HashRingOptions } from './hash-ring.js'
export { ringHash } from './ring-hash.js'
export { EmptyRing } from './errors.js'
