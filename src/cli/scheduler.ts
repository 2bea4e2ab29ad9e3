import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { createNode, type VerityNode } from '../node/create-node.js'
import { resolvePeer } from '../net/peer.js'
import { toHex } from '../../store/hash-text.js'
import { Scheduler } from '../scheduler/scheduler.js'
import { listenScheduler, SCHEDULER_HOST, SCHEDULER_PORT } from '../scheduler/listen.js'
import type { SeedImporter } from '../scheduler/interface.js'
import { dataDir, flag, interruptSignal, Output, parseArgs, parseDuration, UsageError } from './common.js'
import { listening, parseListen, parseProviders } from './peers.js'
import { httpAddress } from './serve.js'

/** A task is one file: a seed that answers with a collection (a directory's URL) fails the task. */
export class NotAFile extends Error {
  static override name = 'NotAFile'
  constructor (url: string) {
    super(`the seed imported a directory, not a file: ${url}`)
    this.name = 'NotAFile'
  }
}

/** The seeds named by --seed, as the scheduler keeps them: their node's peer id and addresses. */
function seedsOf (values: string[]): Array<{ peerId: string, addrs: string[] }> {
  return parseProviders(values, 'seed').map(target => {
    const resolved = resolvePeer(target)
    return { peerId: resolved.id, addrs: resolved.addrs.map(String) }
  })
}

/** How the scheduler has a seed import a URL: `/verity/task/1` from a node of its own. */
function importerOf (node: VerityNode): SeedImporter {
  return async (seed, url, options) => {
    const task = await node.seeds.request({ peerId: seed.peerId, addrs: seed.addrs }, url, options)
    if (task.format !== 'raw') throw new NotAFile(url)
    return { hash: toHex(task.hash), size: task.size }
  }
}

/**
 * `verity scheduler`: the SuperNode API (docs/scheduler.md) on `--http` (127.0.0.1:8002), its
 * state under `<data dir>/scheduler`, seeds from `--seed` (a ticket or multiaddr, repeatable),
 * which a node of its own (listening on `--listen`, loopback by default) asks to import tasks and
 * preheats. Prints its URL on stdout and runs until interrupted.
 */
export async function scheduler (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, {
    http: { value: true },
    seed: { value: true, many: true },
    listen: { value: true, many: true },
    'peer-expiry': { value: true }
  })
  if (parsed.positionals.length > 0) throw new UsageError('verity scheduler takes no arguments')
  const { host, port } = httpAddress(flag(parsed, 'http') ?? `${SCHEDULER_HOST}:${SCHEDULER_PORT}`)
  const seeds = seedsOf(parsed.flags.get('seed') ?? [])
  const expiry = flag(parsed, 'peer-expiry')
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  // Without a store of its own: it only asks seeds, it never holds a blob.
  const listen = parseListen(parsed.flags.get('listen'))
  const node = seeds.length === 0 ? undefined : await listening(listen ?? [], async () => await createNode(listen === undefined ? {} : { listen }))
  let service: Scheduler | undefined
  let http: Awaited<ReturnType<typeof listenScheduler>> | undefined
  try {
    service = await Scheduler.open({
      location: join(dataDir(parsed), 'scheduler'),
      seeds,
      version: pkg.version,
      ...(node === undefined ? {} : { importer: importerOf(node) }),
      ...(expiry === undefined ? {} : { peerExpiryMs: parseDuration(expiry, 'peer-expiry') })
    }, node === undefined ? {} : { logger: node.libp2p.logger })
    http = await listenScheduler(service, { host, port })
    out.say(`scheduler on ${http.url}${seeds.length === 0 ? '' : `, ${seeds.length} seed${seeds.length === 1 ? '' : 's'}`}`)
    out.event({ type: 'ready', url: http.url })
    out.result(http.url)
    await interrupt.interrupted
    return 0
  } finally {
    interrupt.dispose()
    await http?.close()
    await service?.close()
    await node?.stop()
  }
}
