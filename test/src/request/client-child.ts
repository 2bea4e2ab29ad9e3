import { createHash } from 'node:crypto'
import { createRequestClient } from '../../../src/request/index.js'

/**
 * A client process for the request SDK's tests: `client-child.js <seed,seed,...> <jobs JSON>`,
 * jobs `[{ url, start, end }]` run at once; prints `<i> <seed> <status> <sha256 of the body>` each.
 */
const [seeds = '', jobs = '[]'] = process.argv.slice(2)
const client = createRequestClient({ seeds: seeds.split(',') })
const list = JSON.parse(jobs) as Array<{ url: string, start: number, end: number }>
const lines = await Promise.all(list.map(async (job, i) => {
  const res = await client.get({ url: job.url, headers: { range: `bytes=${job.start}-${job.end}` }, timeout: 60000 })
  const hash = createHash('sha256')
  for await (const part of res.body) hash.update(part)
  return `${i} ${res.seed} ${res.status} ${hash.digest('hex')}`
}))
process.stdout.write(lines.join('\n') + '\n')
await client.close()
