import { OriginUnavailable, isTransient } from '../errors.js'

export interface RetryPolicy {
  /** Tries after the first, for a transient failure (5xx, 429, reset, refused, idle timeout). @default 3 */
  retries: number
  /** Wait before the first retry, doubling after each (with jitter), at most 5 s. @default 250 */
  backoffMs: number
  /** The longest Retry-After waited for; an origin asking for more fails at once. @default 60000 */
  maxRetryAfterMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, backoffMs: 250, maxRetryAfterMs: 60000 }

const MAX_BACKOFF_MS = 5000

/**
 * How long to wait before try `attempt` (1 for the first retry) after `err`, or undefined when
 * not to retry: the error is not transient, the tries are spent, or the origin's Retry-After asks
 * for longer than the policy waits.
 */
export function retryDelay (err: unknown, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number | undefined {
  if (!isTransient(err) || attempt > policy.retries) return undefined
  const asked = err instanceof OriginUnavailable ? err.retryAfterMs : undefined
  if (asked !== undefined) return asked <= policy.maxRetryAfterMs ? asked : undefined
  const base = Math.min(MAX_BACKOFF_MS, policy.backoffMs * 2 ** (attempt - 1))
  return Math.round(base * (0.5 + random() / 2))
}

/**
 * A Retry-After header in ms from `now`: delay-seconds or an HTTP date (in the past: 0);
 * undefined when absent or unreadable.
 */
export function parseRetryAfter (value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export async function sleep (ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
