import type { Logger } from '@libp2p/interface'
import { Aborted, Timeout } from '../../protocol/errors.js'
import { OriginError } from '../origin/errors.js'
import { fromWire } from '../seed/errors.js'
import { BAO_TYPE } from '../http/answer.js'
import { NoSeedAvailable, RequestFailed, SeedAnswerInvalid, SeedUnavailable } from './errors.js'
import type { RequestHeaders, RequestPlaneClient, StreamResponse } from './interface.js'
import { notModified, readAnswer, type ReadAnswer } from './seed-answer.js'
import { type SeedRef, taskAddress } from './seed-address.js'
import type { SeedHealth } from './seed-health.js'

/** What a get needs of its client. */
export interface RunContext {
  transport: RequestPlaneClient
  health: SeedHealth
  log: Logger
  /** Where a seed is asked; undefined once setSeeds has taken it off the list. */
  seed: (id: string) => SeedRef | undefined
}

export interface RunPlan {
  /** The `/tasks` query: url, filter, tag, application. */
  query: string
  /** The caller's headers, names in lower case. */
  headers: RequestHeaders
  /** Seeds to try in order (the ring's, down ones left out unless all are), and those left out. */
  candidates: string[]
  down: string[]
  verify: boolean
  /** A hash the caller pinned (hex). */
  hash?: string
  deadline?: number
  timeout?: number
  signal?: AbortSignal
}

/** Statuses after which the next seed is asked: the seed is overloaded or broken, not the origin. */
const NEXT_SEED = new Set([429, 500, 503])

/**
 * One get's course over its seeds: the first that answers (a seed that cannot be reached, or
 * answers 429/500/503 or wrongly, is passed over; the origin's errors end the get), then its body;
 * when the body fails midway (the seed died, reset, sent bytes that do not verify), the rest of
 * the range is asked of the next seed, which must name the same blob: the caller sees one body.
 */
export class GetRun {
  readonly tried: Array<{ seed: string, error: Error }> = []
  /** The seeds that delivered bytes, in order (a resumed body has several). */
  readonly servedBy: string[] = []
  private next = 0
  private cancelCurrent: () => void = () => {}
  private finished = false
  /** What start() read of the first answer: its first part, and the iterator the rest comes from. */
  private firstPart: { first: IteratorResult<Uint8Array>, parts: AsyncIterator<Uint8Array> } | undefined

  constructor (private readonly ctx: RunContext, private readonly plan: RunPlan) {}

  /**
   * The first answer whose first bytes verified: status, headers, range, and the body from its
   * start. Until a group has verified against the hash a seed names, that name is only its word
   * (a seed can name any hash); once one has, no other blob could have sent it, and a body
   * resumed elsewhere must be of that blob. A seed whose first bytes fail is passed over.
   */
  async start (): Promise<ReadAnswer> {
    const expect = this.plan.hash === undefined ? undefined : { hash: this.plan.hash }
    while (true) {
      const answer = await this.open(this.plan.headers.range, expect)
      const parts = answer.body[Symbol.asyncIterator]()
      let first: IteratorResult<Uint8Array>
      try {
        first = await parts.next()
      } catch (err) {
        if (this.terminal(err as Error)) throw err
        this.cancelCurrent()
        this.servedBy.pop()
        this.failed(answer.seed, err as Error)
        continue
      }
      this.firstPart = { first, parts }
      return answer
    }
  }

  /** Stops the transfer (the current seed's response is dropped). */
  cancel (): void {
    if (!this.finished) this.cancelCurrent()
  }

  /** `first`'s bytes, then, if it fails midway, the rest from the next seeds. */
  async * body (first: ReadAnswer): AsyncGenerator<Uint8Array> {
    // The first answer's first part, read by start(), then the rest of the same iterator.
    let head = this.firstPart?.first
    let parts = this.firstPart?.parts ?? first.body[Symbol.asyncIterator]()
    this.firstPart = undefined
    let at = first.start
    try {
      while (true) {
        try {
          for (let next = head ?? await parts.next(); next.done !== true; next = await parts.next()) {
            head = undefined
            at += next.value.length
            yield next.value
          }
          this.finished = true
          return
        } catch (err) {
          const error = err as Error
          if (this.terminal(error)) throw error
          // The failed answer's transfer ends here (a decoder that threw leaves its source unread).
          this.cancelCurrent()
          const seed = this.servedBy[this.servedBy.length - 1] as string
          this.failed(seed, error)
          if (at === first.end) {
            // Every byte of the range was delivered (verified, when asked) before the seed failed
            // (bytes after its answer, a cut before the stream's end): there is no rest to ask for.
            this.finished = true
            return
          }
          this.ctx.log('seed %s failed at byte %d of %d..%d (%s: %s); the rest from the next seed', seed, at, first.start, first.end, error.name, error.message)
          head = undefined
          parts = (await this.open(`bytes=${at}-${first.end - 1}`, { ...(first.hash === '' ? {} : { hash: first.hash }), size: first.size })).body[Symbol.asyncIterator]()
        }
      }
    } finally {
      if (!this.finished) this.cancelCurrent()
    }
  }

  private async open (range: string | undefined, expect: { hash?: string, size?: number } | undefined): Promise<ReadAnswer> {
    const { plan, ctx } = this
    const headers: RequestHeaders = { ...plan.headers, ...(plan.verify ? { accept: BAO_TYPE } : {}) }
    if (range === undefined) delete headers.range
    else headers.range = range
    while (this.next < plan.candidates.length) {
      const seed = plan.candidates[this.next++] as string
      if (plan.signal?.aborted === true) throw new Aborted('the get was aborted')
      const ref = ctx.seed(seed)
      if (ref === undefined) {
        // Taken off the list while this get was under way (a resumed body asks later than the plan was made).
        ctx.log('seed %s left the list; not asked', seed)
        continue
      }
      const left = plan.deadline === undefined ? undefined : plan.deadline - Date.now()
      if (left !== undefined && left <= 0) throw new Timeout(`no answer in ${plan.timeout ?? 0} ms`)
      let response: StreamResponse
      try {
        response = await ctx.transport.open(taskAddress(ref, plan.query), {
          headers, ...(left === undefined ? {} : { timeout: left }), ...(plan.signal === undefined ? {} : { signal: plan.signal })
        })
      } catch (err) {
        if (this.terminal(err as Error) || err instanceof TypeError) throw err
        this.failed(seed, err as Error)
        continue
      }
      if (response.status >= 400) {
        let error: Error
        try {
          error = await answerError(response, seed)
        } catch (err) {
          // The error answer itself broke off (reset, cut short): that seed failed, whatever it meant to say.
          if (this.terminal(err as Error)) throw err
          this.failed(seed, err as Error)
          continue
        }
        if (!NEXT_SEED.has(response.status)) throw error
        this.failed(seed, error)
        continue
      }
      let answer: ReadAnswer
      try {
        answer = response.status === 304 && isConditional(headers)
          ? notModified(seed, response)
          : readAnswer(seed, response, range, plan.verify, expect)
      } catch (err) {
        response.cancel()
        this.failed(seed, err as Error)
        continue
      }
      ctx.health.markUp(seed)
      this.cancelCurrent = response.cancel
      this.servedBy.push(seed)
      return answer
    }
    throw new NoSeedAvailable(this.tried, plan.down)
  }

  /**
   * Whether `error` ends the get wherever it is: the caller's abort, the caller's timeout, the
   * client closed. A Timeout or Aborted of the seed's own (a connection that did not come up in
   * the pool's time, a stream the seed reset) is the seed's failure: the next seed is asked.
   */
  private terminal (error: Error): boolean {
    if (error.name === 'ClientClosed') return true
    if (error.name === 'Aborted') return this.plan.signal?.aborted === true
    if (error.name === 'Timeout') return this.plan.deadline !== undefined && Date.now() >= this.plan.deadline - 5
    return false
  }

  private failed (seed: string, error: Error): void {
    if (error instanceof SeedAnswerInvalid && error.otherBlob) {
      this.ctx.log('seed %s names another blob or size: %s', seed, error.message)
    } else {
      const until = this.ctx.health.markDown(seed, Date.now())
      this.ctx.log('seed %s failed (%s: %s), down until %d', seed, error.name, error.message, until)
    }
    this.tried.push({ seed, error: error instanceof SeedUnavailable ? error : new SeedUnavailable(seed, error) })
  }
}

/** Whether the caller's headers make the get conditional (a 304 is then an answer). */
function isConditional (headers: RequestHeaders): boolean {
  return headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined
}

/** A seed's error answer as its named error: an origin's (OriginError, with the status the seed answered) or RequestFailed. */
async function answerError (response: StreamResponse, seed: string): Promise<Error> {
  const body = await upTo(response, 64 << 10)
  try {
    const wire = JSON.parse(new TextDecoder().decode(body)) as { error?: unknown, message?: unknown, url?: unknown }
    if (typeof wire.error === 'string' && typeof wire.message === 'string') {
      const error = fromWire({ type: 'error', name: wire.error, message: wire.message, status: response.status, ...(typeof wire.url === 'string' ? { url: wire.url } : {}) })
      if (error instanceof OriginError) return error
    }
  } catch {
    // Not JSON: the seed's own plain-text answer, below.
  }
  return new RequestFailed(response.status, body, `seed ${seed} answered ${response.status}: ${new TextDecoder().decode(body.subarray(0, 200)).trim()}`)
}

/** At most `limit` bytes of an error answer's body (a seed cannot make the client hold more); the rest is dropped. */
async function upTo (response: StreamResponse, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let length = 0
  for await (const part of response.body) {
    parts.push(part)
    length += part.length
    if (length >= limit) { response.cancel(); break }
  }
  const out = new Uint8Array(Math.min(length, limit))
  let at = 0
  for (const part of parts) {
    const take = part.subarray(0, out.length - at)
    out.set(take, at)
    at += take.length
  }
  return out
}
