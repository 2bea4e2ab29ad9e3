import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { SchedulerState } from './state.js'

/**
 * The scheduler's `/metrics` (Prometheus text through prom-client): peers, tasks, pieces reported
 * by source kind, piece errors, preheats by status, clients' download reports, and HTTP requests
 * by route and status with their latency. One registry per scheduler, so several can live in a
 * process (tests).
 */
export class SchedulerMetrics {
  readonly registry = new Registry()
  private readonly requests = new Counter({ name: 'verity_scheduler_http_requests_total', help: 'HTTP requests by route and status.', labelNames: ['route', 'status'] as const, registers: [this.registry] })
  private readonly latency = new Histogram({
    name: 'verity_scheduler_http_request_duration_seconds',
    help: 'Time from a request\'s arrival to its answer, by route.',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry]
  })

  private readonly pieces = new Counter({ name: 'verity_scheduler_pieces_served_total', help: 'Pieces reported fetched and verified, by the kind of peer they came from (seed, peer).', labelNames: ['source'] as const, registers: [this.registry] })
  private readonly pieceErrors = new Counter({ name: 'verity_scheduler_piece_errors_total', help: 'Pieces reported failed or corrupt, by kind (failed, corrupt).', labelNames: ['kind'] as const, registers: [this.registry] })
  private readonly downloads = new Counter({ name: 'verity_scheduler_client_downloads_total', help: 'Downloads clients reported through POST /task/metrics, by success.', labelNames: ['success'] as const, registers: [this.registry] })

  constructor () {
    collectDefaultMetrics({ register: this.registry })
  }

  /** The gauges read from the state at each scrape. */
  watch (state: SchedulerState): void {
    const registers = [this.registry]
    new Gauge({ name: 'verity_scheduler_peers', help: 'Peers registered (seeds included).', registers, collect () { this.set(state.peers.size) } })
    new Gauge({ name: 'verity_scheduler_tasks', help: 'Tasks known.', registers, collect () { this.set(state.tasks.size) } })
    new Gauge({
      name: 'verity_scheduler_preheats',
      help: 'Preheats kept, by status.',
      labelNames: ['status'] as const,
      registers,
      collect () {
        const counts: Record<string, number> = { WAITING: 0, RUNNING: 0, SUCCESS: 0, FAILED: 0 }
        for (const preheat of state.preheats.values()) counts[preheat.status] = (counts[preheat.status] ?? 0) + 1
        for (const [status, count] of Object.entries(counts)) this.set({ status }, count)
      }
    })
  }

  request (route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) })
    this.latency.observe({ route }, seconds)
  }

  pieceServed (source: 'seed' | 'peer'): void {
    this.pieces.inc({ source })
  }

  pieceError (kind: 'failed' | 'corrupt'): void {
    this.pieceErrors.inc({ kind })
  }

  download (success: boolean): void {
    this.downloads.inc({ success: String(success) })
  }

  get contentType (): string {
    return this.registry.contentType
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }
}
