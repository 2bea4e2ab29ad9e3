/**
 * One side of the origin benchmark, in its own process.
 *   serve <file>                 -> prints { port }, then serves <file> over HTTP at /file (HEAD,
 *                                   single byte ranges, a strong ETag) until stdin closes
 *   import <data dir> <url>      -> { seconds, bytes, maxRssMB, cpuSeconds }: origins.import of <url>
 *                                   into the FsStore of <data dir>
 *   plain <url> <output file>    -> the same for a plain streaming GET of <url> into a file
 *   seed <data dir> <url>        -> the same for a requester's node.seeds.get of <url> through a
 *                                   fresh seed node (both nodes in this process, over loopback
 *                                   QUIC): the seed's import, then the transfer to the requester
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { FsStore } from '../store/fs-store.js'
import { Origins } from '../src/origin/origins.js'
import { createNode } from '../src/node/create-node.js'
import { peakRssMB } from './measure.js'

const [role, ...args] = process.argv.slice(2) as [string, ...string[]]

function report (start: bigint, bytes: number): void {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const usage = process.cpuUsage()
  process.stdout.write(JSON.stringify({ seconds, bytes, maxRssMB: peakRssMB(), cpuSeconds: (usage.user + usage.system) / 1e6 }) + '\n')
}

if (role === 'serve') {
  const file = args[0] as string
  const size = statSync(file).size
  const etag = `"bench-${size}"`
  const server = http.createServer((req, res) => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    const start = range === null ? 0 : Number(range[1])
    const end = range === null || range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1)
    res.writeHead(range === null ? 200 : 206, {
      etag,
      'accept-ranges': 'bytes',
      'content-length': String(end - start + 1),
      ...(range === null ? {} : { 'content-range': `bytes ${start}-${end}/${size}` })
    })
    if (req.method === 'HEAD') return void res.end()
    createReadStream(file, { start, end, highWaterMark: 1 << 20 }).pipe(res)
  })
  server.keepAliveTimeout = 60000
  server.listen(0, '127.0.0.1', () => { process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n') })
  process.stdin.resume()
  process.stdin.on('end', () => { process.exit(0) })
} else if (role === 'import') {
  const [dir, url] = args as [string, string]
  const store = await FsStore.open(join(dir, 'store'))
  const origins = await Origins.create({ store }, { dataDir: dir })
  const start = process.hrtime.bigint()
  const result = await origins.import(url)
  report(start, result.size)
  await origins.close()
  await store.close()
} else if (role === 'plain') {
  const [url, output] = args as [string, string]
  const start = process.hrtime.bigint()
  const agent = new http.Agent({ keepAlive: true })
  await new Promise<void>((resolve, reject) => {
    http.get(url, { agent }, response => { pipeline(response, createWriteStream(output)).then(resolve, reject) }).on('error', reject)
  })
  report(start, statSync(output).size)
  agent.destroy()
} else if (role === 'seed') {
  const [dir, url] = args as [string, string]
  // The origin is on 127.0.0.1, which a seed refuses to fetch for others unless allowed by prefix.
  const seed = await createNode({ dataDir: join(dir, 'seed'), seed: { origins: [new URL('/', url).toString()] } })
  const requester = await createNode({ dataDir: join(dir, 'requester') })
  const start = process.hrtime.bigint()
  const result = await requester.seeds.get(seed.addrs()[0] as NonNullable<ReturnType<typeof seed.addrs>[number]>, url)
  report(start, result.size)
  await requester.stop()
  await seed.stop()
} else {
  throw new Error(`unknown role ${role}`)
}
