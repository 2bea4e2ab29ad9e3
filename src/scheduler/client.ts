import { request } from 'node:http'
import { SchedulerError } from './errors.js'

/** Most bytes of a scheduler's answer a client reads (the scheduler is a peer like any other). */
export const MAX_ANSWER_BYTES = 1024 * 1024
/** Longest wait for one answer. */
export const CALL_TIMEOUT_MS = 10000

/** The scheduler answered with an error (its status and message), or an answer that is not the API's. */
export class SchedulerRefused extends SchedulerError {
  static override name = 'SchedulerRefused'
  constructor (readonly status: number, detail: string) {
    super(`the scheduler answered ${status}: ${detail.slice(0, 300)}`)
    this.name = 'SchedulerRefused'
  }
}

/**
 * The calls a peer makes of a scheduler over HTTP (node:http): JSON in and out, answers bounded
 * to MAX_ANSWER_BYTES and CALL_TIMEOUT_MS, a status of 300 or more thrown as SchedulerRefused.
 */
export class SchedulerClient {
  private readonly base: URL

  constructor (base: string | URL) {
    this.base = new URL(base)
    if (this.base.protocol !== 'http:') throw new TypeError(`a scheduler is an http: URL, got ${this.base.protocol}`)
  }

  async call (method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<any> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const url = new URL(path, this.base)
    const { status, text } = await new Promise<{ status: number, text: string }>((resolve, reject) => {
      const req = request(url, {
        method,
        timeout: CALL_TIMEOUT_MS,
        ...(signal === undefined ? {} : { signal }),
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length }
      }, res => {
        const parts: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_ANSWER_BYTES) { res.destroy(); reject(new SchedulerRefused(res.statusCode ?? 0, `an answer over ${MAX_ANSWER_BYTES} bytes`)); return }
          parts.push(chunk)
        }).on('error', reject).on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }) })
      })
      req.on('timeout', () => { req.destroy(new SchedulerRefused(0, `no answer in ${CALL_TIMEOUT_MS} ms`)) })
      req.on('error', reject)
      req.end(payload)
    })
    let json: any
    try {
      json = text === '' ? undefined : JSON.parse(text)
    } catch {
      throw new SchedulerRefused(status, 'an answer that is not JSON')
    }
    if (status >= 300) throw new SchedulerRefused(status, typeof json?.message === 'string' ? json.message : text)
    return json
  }
}
