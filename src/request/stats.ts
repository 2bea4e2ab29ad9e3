import type { ClientStats } from './interface.js'

/** Dynamo's `is_available`: the counters say something (a request sent or a connection open). */
export function isAvailable (stats: ClientStats): boolean {
  return stats.requestsSent > 0 || stats.activeConnections > 0
}

/** The counters a client keeps; the connection counts come from its pool when asked. */
export class StatsCounter {
  requestsSent = 0
  responsesReceived = 0
  errors = 0
  bytesSent = 0
  bytesReceived = 0
  private latencyUsTotal = 0

  sent (payloadBytes: number): number {
    this.requestsSent++
    this.bytesSent += payloadBytes
    return performance.now()
  }

  received (startedAt: number): void {
    this.responsesReceived++
    this.latencyUsTotal += Math.round((performance.now() - startedAt) * 1000)
  }

  snapshot (connections: { active: number, idle: number }): ClientStats {
    return {
      requestsSent: this.requestsSent,
      responsesReceived: this.responsesReceived,
      errors: this.errors,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      activeConnections: connections.active,
      idleConnections: connections.idle,
      avgLatencyUs: this.responsesReceived === 0 ? 0 : Math.round(this.latencyUsTotal / this.responsesReceived)
    }
  }
}
