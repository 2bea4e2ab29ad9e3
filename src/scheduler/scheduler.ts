import { randomBytes } from 'node:crypto'
import type { ComponentLogger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_LIMITS, DEFAULTS, type SchedulerContext } from './context.js'
import type { SchedulerInit } from './interface.js'
import { SchedulerMetrics } from './metrics.js'
import { Peers } from './peers.js'
import { Pieces } from './pieces.js'
import { Preheats } from './preheats.js'
import { SchedulerState } from './state.js'
import { Tasks } from './tasks.js'

/**
 * The scheduler service (Dragonfly's SuperNode): one place that knows which peers hold which
 * pieces of which task, so that a fleet fetches from one another rather than from the seed alone.
 * `Scheduler.open` loads the state; `schedulerHandler` (server.ts) serves the HTTP API over it.
 */
export class Scheduler {
  readonly peers: Peers
  readonly pieces: Pieces
  readonly tasks: Tasks
  readonly preheats: Preheats
  readonly metrics: SchedulerMetrics
  /** Different at every start (HeartBeatResponse.version: a peer learns the scheduler restarted). */
  readonly boot = randomBytes(8).toString('hex')
  readonly version: string
  private readonly sweeper: NodeJS.Timeout

  private constructor (readonly ctx: SchedulerContext, init: SchedulerInit) {
    this.version = init.version ?? '0.0.0'
    this.metrics = ctx.metrics
    this.peers = new Peers(ctx)
    this.pieces = new Pieces(ctx, this.peers)
    this.tasks = new Tasks(ctx, this.pieces)
    this.preheats = new Preheats(ctx, this.tasks)
    this.sweeper = setInterval(() => {
      void this.sweep().catch(err => { ctx.log.error('sweep failed: %e', err) })
    }, ctx.settings.sweepMs)
    this.sweeper.unref()
  }

  static async open (init: SchedulerInit = {}, components: { logger?: ComponentLogger } = {}): Promise<Scheduler> {
    const log = (components.logger ?? defaultLogger()).forComponent('verity:scheduler')
    const state = await SchedulerState.open(init.location, log)
    const metrics = new SchedulerMetrics()
    metrics.watch(state)
    const settings = {
      peerExpiryMs: init.peerExpiryMs ?? DEFAULTS.peerExpiryMs,
      sweepMs: init.sweepMs ?? DEFAULTS.sweepMs,
      assignmentTimeoutMs: init.assignmentTimeoutMs ?? DEFAULTS.assignmentTimeoutMs,
      preheatKeepMs: init.preheatKeepMs ?? DEFAULTS.preheatKeepMs,
      seedCopies: init.seedCopies ?? DEFAULTS.seedCopies
    }
    const scheduler = new Scheduler({ state, limits: { ...DEFAULT_LIMITS, ...init.limits }, settings, importer: init.importer, metrics, log }, init)
    for (const seed of init.seeds ?? []) await scheduler.addSeed(seed)
    scheduler.resume()
    return scheduler
  }

  /**
   * A seed peer given at start (`--seed`): registered as `seed-<peer id>` (two seeds on one host
   * stay two), never expired. Its IP and port are those of its first IPv4 address, if any.
   */
  async addSeed (seed: { peerId: string, addrs: string[] }): Promise<void> {
    const ip4 = seed.addrs.map(addr => multiaddr(addr).getComponents()).find(parts => parts[0]?.name === 'ip4')
    await this.peers.register({
      hostName: 'seed',
      IP: ip4?.[0]?.value ?? '0.0.0.0',
      port: Number(ip4?.[1]?.value ?? 0),
      extra: { peerId: seed.peerId, addrs: seed.addrs.join(' '), seed: 'true', pinned: 'true' }
    }, { id: `seed-${seed.peerId}` })
  }

  /** After a restart: imports and preheats that were under way start again. */
  private resume (): void {
    for (const task of this.ctx.state.tasks.values()) {
      if (task.cdnStatus === 'RUNNING') {
        task.cdnStatus = 'WAITING'
        this.tasks.startImport(task, {})
      }
    }
    for (const preheat of this.ctx.state.preheats.values()) {
      if (preheat.status === 'WAITING' || preheat.status === 'RUNNING') this.preheats.run(preheat, {})
    }
  }

  /** Silent peers dropped, old preheats pruned (every sweepMs; tests call it). */
  async sweep (now = Date.now()): Promise<void> {
    await this.peers.expire(now)
    await this.preheats.prune(now)
  }

  async close (): Promise<void> {
    clearInterval(this.sweeper)
    await this.tasks.close()
    await this.ctx.state.close()
  }
}
