import { createHash } from 'node:crypto'
import { createNode, type VerityNode } from '../../../src/index.js'
import { createRequestClient } from '../../../src/request/index.js'

/**
 * A client process for the request SDK's tests: `client-child.js <seed,seed,...> <jobs JSON>`,
 * jobs `[{ url, start, end, slowMs? }]` run at once (a job with `slowMs` waits that long after
 * each part it reads); prints `first <i>` when job i's first bytes arrive, then, as each ends,
 * `<i> <seed> <status> <sha256 of the body> <seeds that served it, joined by +>`. Seeds that are
 * multiaddrs are reached over libp2p from a node of its own.
 */
const [seeds = '', jobs = '[]'] = process.argv.slice(2)
const list = seeds.split(',').filter(seed => seed !== '')
const node: VerityNode | undefined = list[0]?.startsWith('/') === true ? await createNode() : undefined
const client = createRequestClient({ seeds: list, ...(node === undefined ? {} : { libp2p: node.libp2p }) })
const work = JSON.parse(jobs) as Array<{ url: string, start: number, end: number, slowMs?: number }>
await Promise.all(work.map(async (job, i) => {
  const res = await client.get({ url: job.url, headers: { range: `bytes=${job.start}-${job.end}` }, timeout: 120000 })
  const hash = createHash('sha256')
  let first = true
  for await (const part of res.body) {
    if (first) process.stdout.write(`first ${i}\n`)
    first = false
    hash.update(part)
    if (job.slowMs !== undefined) await new Promise(resolve => setTimeout(resolve, job.slowMs))
  }
  process.stdout.write(`${i} ${res.seed} ${res.status} ${hash.digest('hex')} ${res.servedBy.join('+')}\n`)
}))
await client.close()
await node?.stop()
