import { MalformedMessage } from '../../protocol/errors.js'
import type { BlobFormat } from '../../store/interface.js'
import type { PreheatStatus } from '../origin/interface.js'
import type { SeedAnswer, SeedRequest, WireError } from './interface.js'

/** A request as it came off the wire, checked field by field: MalformedMessage names the first that is wrong. */
export function decodeSeedRequest (message: Record<string, unknown>): SeedRequest {
  switch (message.type) {
    case 'task':
      return { type: 'task', url: text(message, 'url'), ...taskFields(message) }
    case 'preheat': {
      const urls = message.urls
      if (!Array.isArray(urls) || urls.length === 0 || !urls.every(u => typeof u === 'string')) throw new MalformedMessage('urls must be a non-empty array of strings')
      return { type: 'preheat', urls: urls as string[], ...taskFields(message) }
    }
    case 'preheatStatus':
      return { type: 'preheatStatus', id: text(message, 'id') }
    default:
      throw new MalformedMessage(`type must be task, preheat or preheatStatus, got ${JSON.stringify(message.type)?.slice(0, 40)}`)
  }
}

/** An answer as it came off the wire, checked as far as the requester relies on it. */
export function decodeSeedAnswer (message: Record<string, unknown>): SeedAnswer {
  switch (message.type) {
    case 'progress':
      return { type: 'progress', bytes: count(message, 'bytes'), ...(message.total === undefined ? {} : { total: count(message, 'total') }) }
    case 'task': {
      const hash = text(message, 'hash')
      if (!/^[0-9a-f]{64}$/.test(hash)) throw new MalformedMessage('hash must be 64 lower-case hex digits')
      return { type: 'task', taskId: text(message, 'taskId'), hash, size: count(message, 'size'), format: format(message), source: text(message, 'source') }
    }
    case 'preheat': {
      const status = message.status as PreheatStatus | undefined
      if (typeof status !== 'object' || status === null || typeof status.id !== 'string' || typeof status.state !== 'string' || !Array.isArray(status.items)) {
        throw new MalformedMessage('a preheat answer needs a status with an id, a state and items')
      }
      return { type: 'preheat', status }
    }
    case 'error': {
      const error: WireError = { type: 'error', name: text(message, 'name'), message: text(message, 'message') }
      if (typeof message.url === 'string') error.url = message.url
      for (const key of ['status', 'retryAfterMs', 'timeoutMs'] as const) if (typeof message[key] === 'number') error[key] = message[key]
      return error
    }
    default:
      throw new MalformedMessage(`an answer's type must be progress, task, preheat or error, got ${JSON.stringify(message.type)?.slice(0, 40)}`)
  }
}

function taskFields (message: Record<string, unknown>): { filter?: string[], tag?: string, application?: string, headers?: Record<string, string> } {
  const out: { filter?: string[], tag?: string, application?: string, headers?: Record<string, string> } = {}
  if (message.filter !== undefined) {
    if (!Array.isArray(message.filter) || !message.filter.every(f => typeof f === 'string')) throw new MalformedMessage('filter must be an array of strings')
    out.filter = message.filter as string[]
  }
  if (message.tag !== undefined) out.tag = text(message, 'tag')
  if (message.application !== undefined) out.application = text(message, 'application')
  if (message.headers !== undefined) {
    const headers = message.headers
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || !Object.values(headers).every(v => typeof v === 'string')) {
      throw new MalformedMessage('headers must be an object of strings')
    }
    out.headers = headers as Record<string, string>
  }
  return out
}

function text (message: Record<string, unknown>, name: string): string {
  const value = message[name]
  if (typeof value !== 'string') throw new MalformedMessage(`${name} must be a string, got ${typeof value}`)
  return value
}

function count (message: Record<string, unknown>, name: string): number {
  const value = message[name]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new MalformedMessage(`${name} must be a byte count, got ${String(value)}`)
  return value
}

function format (message: Record<string, unknown>): BlobFormat {
  if (message.format !== 'raw' && message.format !== 'hashseq') throw new MalformedMessage(`format must be raw or hashseq, got ${String(message.format)}`)
  return message.format
}
