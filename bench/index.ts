import { dhtBench } from './dht.js'
import { downloaderBench } from './downloader.js'
import { hashingBench } from './hashing.js'
import { longrunBench } from './longrun.js'
import { machine } from './measure.js'
import { netBench } from './net.js'
import { originBench } from './origin.js'
import { requestBench } from './request.js'
import { schedulerBench } from './scheduler.js'
import { storeBench } from './store.js'

/** `npm run bench`: every table, on this machine, in one run. `npm run bench -- store` runs one section. */
const sections: Record<string, () => Promise<void>> = { hashing: () => hashingBench(), store: () => storeBench(), net: () => netBench(), longrun: () => longrunBench(), downloader: () => downloaderBench(), origin: () => originBench(), request: () => requestBench(), scheduler: () => schedulerBench(), dht: () => dhtBench() }
const wanted = process.argv.slice(2)
console.log(`verity benchmarks on ${machine()}`)
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length === 0 || wanted.includes(name)) await run()
}
