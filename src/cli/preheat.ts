import { setTimeout as delay } from 'node:timers/promises'
import { createNode } from '../node/create-node.js'
import type { PreheatStatus } from '../origin/interface.js'
import { dataDir, flag, has, interruptSignal, Output, parseArgs, UsageError } from './common.js'
import { parseProviders } from './peers.js'
import { parseHeaders } from './store-add-url.js'
import { storeOrThrow } from './store-context.js'

/** A preheat that failed: exit 1 with the first URL's error. */
export class PreheatFailed extends Error {
  static override name = 'PreheatFailed'
  constructor (readonly id: string, message: string) {
    super(`preheat ${id} failed: ${message}`)
    this.name = 'PreheatFailed'
  }
}

/**
 * `verity preheat <url...> --seed <peer>`: the seed imports the URLs in the background (so later
 * gets through it cost the origin nothing). Prints the preheat's id on stdout, then follows its
 * state (WAITING, RUNNING, SUCCESS or FAILED) each second until it ends, unless --no-wait;
 * `--status <id>` asks for one preheat's state. FAILED exits 1 naming the first error.
 */
export async function preheat (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, {
    seed: { value: true },
    status: { value: true },
    'no-wait': {},
    filter: { value: true, many: true },
    'task-tag': { value: true },
    application: { value: true },
    header: { value: true, many: true }
  })
  const seedText = flag(parsed, 'seed')
  if (seedText === undefined) throw new UsageError('preheat needs --seed <ticket|multiaddr>')
  const seed = parseProviders([seedText], 'seed')[0] as NonNullable<ReturnType<typeof parseProviders>[number]>
  const statusOf = flag(parsed, 'status')
  if ((statusOf === undefined) === (parsed.positionals.length === 0)) throw new UsageError('preheat takes URLs, or --status <id>')
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  // It keeps nothing: a data directory that is not there is not made (a node in memory asks).
  const dir = dataDir(parsed)
  const node = await createNode(await storeOrThrow(dir).then(() => ({ dataDir: dir }), () => ({})))
  try {
    const signal = interrupt.signal
    if (statusOf !== undefined) {
      const status = await node.seeds.preheatStatus(seed, statusOf, { signal })
      report(out, status)
      out.result(status.state)
      return status.state === 'FAILED' ? 1 : 0
    }
    const tag = flag(parsed, 'task-tag')
    const application = flag(parsed, 'application')
    let status = await node.seeds.preheat(seed, parsed.positionals, {
      filter: parsed.flags.get('filter') ?? [],
      headers: parseHeaders(parsed.flags.get('header') ?? []),
      signal,
      ...(tag === undefined ? {} : { tag }), ...(application === undefined ? {} : { application })
    })
    out.result(status.id)
    report(out, status)
    if (has(parsed, 'no-wait')) return 0
    let state = status.state
    while (status.state === 'WAITING' || status.state === 'RUNNING') {
      await delay(1000, undefined, { signal })
      status = await node.seeds.preheatStatus(seed, status.id, { signal })
      if (status.state !== state) report(out, status)
      state = status.state
    }
    if (status.state === 'FAILED') throw new PreheatFailed(status.id, status.error ?? 'no reason given')
    return 0
  } finally {
    interrupt.dispose()
    await node.stop()
  }
}

function report (out: Output, status: PreheatStatus): void {
  out.say(`preheat ${status.id}: ${status.state}${status.error === undefined ? '' : ` (${status.error})`}`)
  out.event({ type: 'preheat', ...status })
}
