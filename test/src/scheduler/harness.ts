import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listenScheduler } from '../../../src/scheduler/listen.js'
import { Scheduler } from '../../../src/scheduler/scheduler.js'
import type { SchedulerInit } from '../../../src/scheduler/interface.js'

export interface Answer { status: number, json: any, text: string, headers: Record<string, string | string[] | undefined> }

/** One request to a scheduler at `base`: a body given as an object is sent as JSON, a string as it is. */
export async function call (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
  return await new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length }), ...headers } }, res => {
      const parts: Buffer[] = []
      res.on('data', (chunk: Buffer) => parts.push(chunk)).on('error', reject).on('end', () => {
        const text = Buffer.concat(parts).toString('utf8')
        let json: unknown
        try { json = text === '' ? undefined : JSON.parse(text) } catch { json = undefined }
        resolve({ status: res.statusCode as number, json, text, headers: res.headers })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** A scheduler on 127.0.0.1 with its LevelDB in a temporary directory; `stop` removes it all. */
export async function startScheduler (init: SchedulerInit = {}): Promise<{ scheduler: Scheduler, url: string, dir: string, call: (method: string, path: string, body?: unknown) => Promise<Answer>, stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-scheduler-'))
  const scheduler = await Scheduler.open({ location: join(dir, 'scheduler'), ...init })
  const http = await listenScheduler(scheduler, { port: 0 })
  return {
    scheduler,
    url: http.url,
    dir,
    call: async (method, path, body) => await call(http.url, method, path, body),
    stop: async () => {
      await http.close()
      await scheduler.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** An error answer: the status, the Error schema's fields, and the field a BadParameter names. */
export function assertError (answer: Answer, status: number, field?: string): void {
  if (answer.status !== status) throw new Error(`expected ${status}, got ${answer.status}: ${answer.text}`)
  if (typeof answer.json?.message !== 'string' || answer.json.code !== status || typeof answer.json.name !== 'string') {
    throw new Error(`not the Error schema: ${answer.text}`)
  }
  if (field !== undefined && answer.json.field !== field) throw new Error(`expected the field ${field}, got ${String(answer.json.field)}: ${answer.text}`)
}

export const HASH = 'ab'.repeat(32)
export const MIB = 1024 * 1024
