import type { Logger } from '@libp2p/interface'
import type { SchedulerInit, SchedulerLimits } from './interface.js'
import type { SchedulerMetrics } from './metrics.js'
import type { SchedulerState } from './state.js'

export const DEFAULT_LIMITS: SchedulerLimits = {
  maxBodyBytes: 64 * 1024,
  maxPeers: 10000,
  maxTasks: 10000,
  maxPreheats: 1000,
  maxPageSize: 1000,
  maxPiecesPerAnswer: 64,
  maxPieceTotal: 65536
}

export const DEFAULTS = {
  peerExpiryMs: 120000,
  sweepMs: 5000,
  assignmentTimeoutMs: 60000,
  preheatKeepMs: 24 * 3600 * 1000,
  seedCopies: 1
} as const

/** What the scheduler's parts share: the state, the settings, the log and the metrics. */
export interface SchedulerContext {
  state: SchedulerState
  limits: SchedulerLimits
  settings: Required<Pick<SchedulerInit, 'peerExpiryMs' | 'sweepMs' | 'assignmentTimeoutMs' | 'preheatKeepMs' | 'seedCopies'>>
  importer: SchedulerInit['importer']
  metrics: SchedulerMetrics
  log: Logger
}
