import { readFileSync } from 'node:fs'
import type { Connection } from '@libp2p/interface'
import { VERITY_PROTOCOL } from '../../../protocol/constants.js'
import { byteStream } from '../../../src/net/stream.js'
import { concat } from '../../helpers.js'

/** Tools of the attack, limits and fuzz tests: a process's memory, a /health watch, raw requests. */

/** The serve process's resident set and its peak so far, in MB (from /proc). */
export function memoryOf (pid: number): { rss: number, peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/**
 * Polls `/health` every 100 ms with a 2 s limit, from the moment it starts until `stop`: the
 * slowest answer and the number that did not come within the limit. What these tests guard
 * against blocked the event loop for minutes; 2 s (answers take tens of ms) leaves room for a
 * busy machine (a test process unscheduled for 1.2 s was seen here).
 */
/** The longest a /health answer may take (healthWatch). */
export const HEALTH_LIMIT_MS = 2000

export function healthWatch (url: string): { stop: () => Promise<{ slowestMs: number, missed: number, polls: number }> } {
  let slowest = 0
  let missed = 0
  let polls = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const started = performance.now()
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(HEALTH_LIMIT_MS) })
        await response.text()
        if (response.status !== 200) missed++
      } catch {
        missed++
      }
      polls++
      slowest = Math.max(slowest, performance.now() - started)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  })()
  return { stop: async () => { running = false; await loop; return { slowestMs: slowest, missed, polls } } }
}

/** Unsigned LEB128. */
export function varint (n: number): number[] {
  const out: number[] = []
  do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n = Math.floor(n / 128) } while (n > 0)
  return out
}

/**
 * One raw request on a new stream: the bytes, then close; reads the answer until it ends, up to
 * `keep` bytes, or `ms`. Returns what came and how it ended (the end frame's text when framed).
 */
export async function ask (connection: Connection, bytes: Uint8Array, options: { protocol?: string, keep?: number, ms?: number } = {}):
Promise<{ bytes: number, tail: string, error?: string, ms: number }> {
  const started = performance.now()
  const stream = byteStream(await connection.newStream(options.protocol ?? VERITY_PROTOCOL))
  const timer = setTimeout(() => { stream.abort(new Error('test: enough waiting')) }, options.ms ?? 5000)
  let received = 0
  let tail: Uint8Array = new Uint8Array(0)
  try {
    await stream.write(bytes)
    await stream.closeWrite()
    for await (const chunk of stream.source) {
      received += chunk.length
      tail = concat([tail, chunk]).slice(-300)
      if (received >= (options.keep ?? Infinity)) { stream.abort(new Error('test: enough bytes')); break }
    }
    return { bytes: received, tail: Buffer.from(tail).toString('latin1'), ms: performance.now() - started }
  } catch (err) {
    return { bytes: received, tail: Buffer.from(tail).toString('latin1'), error: (err as Error).message, ms: performance.now() - started }
  } finally {
    clearTimeout(timer)
  }
}

