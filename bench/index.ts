import { hashingBench } from './hashing.js'
import { machine } from './measure.js'

/** `npm run bench`: every table, on this machine, in one run. */
console.log(`verity benchmarks on ${machine()}`)
await hashingBench()
