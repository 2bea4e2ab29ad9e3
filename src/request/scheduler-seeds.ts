import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { CALL_TIMEOUT_MS, SchedulerClient } from '../scheduler/client.js'
import { seedRef } from './seed-address.js'

export interface SchedulerSeedsOptions {
  /** Peers asked for per page (each page's answer is read up to the scheduler client's MAX_ANSWER_BYTES, 1 MiB). @default 500 */
  pageSize?: number
  /** Pages read at most (a scheduler that never ends its list is not followed for ever). @default 100 */
  maxPages?: number
  /** Milliseconds for one page, asked and read (a scheduler that never answers is given up on). @default CALL_TIMEOUT_MS (10000) */
  timeoutMs?: number
  /** Logs as `verity:request:scheduler-seeds` (peers left out, polls that failed). @default defaultLogger() of @libp2p/logger */
  logger?: ComponentLogger
  signal?: AbortSignal
}

/**
 * The seed peers a scheduler knows (`verity scheduler`, docs/scheduler.md): its peers list
 * (`GET /api/v1/peers`, page by page) kept to those whose `extra.seed` is `"true"`, each as the
 * request SDK takes a libp2p seed: its first address (QUIC preferred) with `/p2p/<peer id>`.
 * Sorted, so the same seeds give the same list.
 */
export async function schedulerSeeds (scheduler: string, options: SchedulerSeedsOptions = {}): Promise<string[]> {
  const client = new SchedulerClient(scheduler.includes('://') ? scheduler : `http://${scheduler}`)
  const pageSize = options.pageSize ?? 500
  const log = logOf(options)
  const seeds = new Set<string>()
  for (let page = 0; page < (options.maxPages ?? 100); page++) {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? CALL_TIMEOUT_MS)
    const peers = await client.call('GET', `/api/v1/peers?pageNum=${page}&pageSize=${pageSize}&sortKey=ID&sortDirect=ASC`, undefined,
      options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])) as unknown
    if (!Array.isArray(peers)) throw new TypeError('the scheduler\'s peers list is not a JSON array')
    for (const peer of peers) {
      const seed = seedOf(peer, log)
      if (seed !== undefined) seeds.add(seed)
    }
    if (peers.length < pageSize) break
  }
  return [...seeds].sort()
}

export interface WatchSchedulerSeedsOptions extends SchedulerSeedsOptions {
  /** How often the scheduler is asked. @default 5000 */
  intervalMs?: number
}

/**
 * Calls `onChange` with the scheduler's seeds now and each time they change (a request client's
 * `setSeeds`: only the keys of seeds that came or went move on the ring). A scheduler that cannot
 * be reached, or answers wrongly, leaves the last list in place (logged); so does an empty list
 * (a scheduler that restarted and has not heard from its seeds yet would otherwise empty the ring).
 * Resolves once the first list has been asked for.
 */
export async function watchSchedulerSeeds (scheduler: string, onChange: (seeds: string[]) => void, options: WatchSchedulerSeedsOptions = {}): Promise<void> {
  const log = logOf(options)
  let seen = ''
  let busy = false
  const poll = async (): Promise<void> => {
    if (busy || options.signal?.aborted === true) return
    busy = true
    try {
      const seeds = await schedulerSeeds(scheduler, options)
      const key = seeds.join('\n')
      if (seeds.length === 0) log('the scheduler %s knows no seed: the last list stays', scheduler)
      else if (key !== seen) {
        onChange(seeds)
        seen = key
      }
    } catch (err) {
      log('seeds from %s not taken: %s', scheduler, (err as Error).message)
    } finally {
      busy = false
    }
  }
  if (options.signal?.aborted === true) return
  const timer = setInterval(() => { void poll() }, options.intervalMs ?? 5000)
  timer.unref()
  options.signal?.addEventListener('abort', () => { clearInterval(timer) }, { once: true })
  await poll()
}

function logOf (options: { logger?: ComponentLogger }): Logger {
  return (options.logger ?? defaultLogger()).forComponent('verity:request:scheduler-seeds')
}

/**
 * A PeerInfo's seed, as a multiaddr with its peer id; undefined for a peer that is no seed or
 * names no address the SDK can take (peers say their own addresses: one that is no multiaddr
 * would make setSeeds refuse the whole list, every poll).
 */
function seedOf (peer: unknown, log: Logger): string | undefined {
  const extra = (peer as { extra?: Record<string, unknown> } | null)?.extra
  if (extra === undefined || extra === null || extra.seed !== 'true') return undefined
  const { peerId, addrs } = extra
  if (typeof peerId !== 'string' || typeof addrs !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]+$/.test(peerId)) return undefined
  const list = addrs.split(' ').filter(addr => addr.startsWith('/'))
  const addr = list.find(a => a.includes('/quic-v1')) ?? list[0]
  if (addr === undefined) return undefined
  const seed = addr.includes('/p2p/') ? addr : `${addr}/p2p/${peerId}`
  try {
    seedRef(seed)
  } catch (err) {
    log('seed %s left out: %s', peerId, (err as Error).message)
    return undefined
  }
  return seed
}
