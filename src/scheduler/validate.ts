import { isIPv4 } from 'node:net'
import { BadParameter } from './errors.js'

/**
 * Fields of a request, checked one by one: each getter returns the field's value, undefined for
 * an optional one left out, or throws BadParameter naming the field. Strings and lists are
 * bounded so a client cannot make the scheduler keep more than it means to.
 */

/** Longest string field kept (URLs, names, versions). */
export const MAX_STRING = 4096
/** Most entries of a map or list field (headers, filter). */
export const MAX_ENTRIES = 64

export interface StringRule { required?: boolean, min?: number, max?: number, pattern?: RegExp, shape?: string }
export interface IntRule { required?: boolean, min?: number, max?: number }

/** A JSON body's fields. An empty body is an empty object: every field of every request body is optional in the API. */
export class BodyFields {
  private readonly body: Record<string, unknown>

  constructor (json: unknown) {
    if (json === undefined) this.body = {}
    else if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BadParameter('body', 'must be a JSON object')
    else this.body = json as Record<string, unknown>
  }

  private value (name: string, required: boolean | undefined): unknown {
    const value = Object.hasOwn(this.body, name) ? this.body[name] : undefined
    if (value === undefined || value === null) {
      if (required === true) throw new BadParameter(name, 'is required')
      return undefined
    }
    return value
  }

  string (name: string, rule: StringRule & { required: true }): string
  string (name: string, rule?: StringRule): string | undefined
  string (name: string, rule: StringRule = {}): string | undefined {
    const value = this.value(name, rule.required)
    return value === undefined ? undefined : stringArg(name, value, rule)
  }

  int (name: string, rule: IntRule & { required: true }): number
  int (name: string, rule?: IntRule): number | undefined
  int (name: string, rule: IntRule = {}): number | undefined {
    const value = this.value(name, rule.required)
    if (value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new BadParameter(name, `must be an integer, got ${show(value)}`)
    return intRange(name, value, rule)
  }

  number (name: string, rule: { min?: number } = {}): number | undefined {
    const value = this.value(name, false)
    if (value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadParameter(name, `must be a number, got ${show(value)}`)
    return intRange(name, value, rule)
  }

  bool (name: string): boolean | undefined {
    const value = this.value(name, false)
    if (value === undefined) return undefined
    if (typeof value !== 'boolean') throw new BadParameter(name, `must be true or false, got ${show(value)}`)
    return value
  }

  oneOf<T extends string> (name: string, values: readonly T[], rule: { required?: boolean } = {}): T | undefined {
    const value = this.value(name, rule.required)
    return value === undefined ? undefined : oneOfArg(name, value, values)
  }

  strings (name: string): string[] | undefined {
    const value = this.value(name, false)
    if (value === undefined) return undefined
    if (!Array.isArray(value)) throw new BadParameter(name, 'must be an array of strings')
    if (value.length > MAX_ENTRIES) throw new BadParameter(name, `must have at most ${MAX_ENTRIES} entries, got ${value.length}`)
    return value.map((item, i) => stringArg(`${name}[${i}]`, item, {}))
  }

  map (name: string): Record<string, string> | undefined {
    const value = this.value(name, false)
    if (value === undefined) return undefined
    if (typeof value !== 'object' || Array.isArray(value)) throw new BadParameter(name, 'must be an object of strings')
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.length > MAX_ENTRIES) throw new BadParameter(name, `must have at most ${MAX_ENTRIES} entries, got ${entries.length}`)
    const out: Record<string, string> = {}
    for (const [key, item] of entries) out[stringArg(`${name} key`, key, { max: 256 })] = stringArg(`${name}.${key.slice(0, 40)}`, item, {})
    return out
  }

  ipv4 (name: string, rule: { required?: boolean } = {}): string | undefined {
    const value = this.string(name, rule)
    if (value !== undefined && !isIPv4(value)) throw new BadParameter(name, `must be an IPv4 address, got ${show(value)}`)
    return value
  }

  hostname (name: string, rule: { required?: boolean } = {}): string | undefined {
    const value = this.string(name, { ...rule, min: 1, max: 253 })
    if (value !== undefined && !HOSTNAME.test(value)) throw new BadParameter(name, `must be an RFC 1123 host name, got ${show(value)}`)
    return value
  }
}

/** A query string's parameters, with the same checks. */
export class QueryFields {
  constructor (private readonly params: URLSearchParams) {}

  string (name: string, rule: StringRule & { required: true }): string
  string (name: string, rule?: StringRule): string | undefined
  string (name: string, rule: StringRule = {}): string | undefined {
    const value = this.params.get(name)
    if (value === null || value === '') {
      if (rule.required === true) throw new BadParameter(name, 'is required')
      return undefined
    }
    return stringArg(name, value, rule)
  }

  int (name: string, rule: IntRule = {}): number | undefined {
    const value = this.string(name, { required: rule.required ?? false, max: 20 })
    if (value === undefined) return undefined
    if (!/^-?\d{1,15}$/.test(value)) throw new BadParameter(name, `must be an integer, got ${show(value)}`)
    return intRange(name, Number(value), rule)
  }

  bool (name: string): boolean | undefined {
    const value = this.string(name, { max: 5 })
    if (value === undefined) return undefined
    if (value !== 'true' && value !== 'false') throw new BadParameter(name, `must be true or false, got ${show(value)}`)
    return value === 'true'
  }

  oneOf<T extends string> (name: string, values: readonly T[]): T | undefined {
    const value = this.string(name)
    return value === undefined ? undefined : oneOfArg(name, value, values)
  }

  /** Every value of a repeated parameter, each also split at commas (`sortKey=a&sortKey=b`, `sortKey=a,b`). */
  strings (name: string): string[] {
    const values = this.params.getAll(name).flatMap(value => value.split(',')).filter(value => value !== '')
    if (values.length > MAX_ENTRIES) throw new BadParameter(name, `must have at most ${MAX_ENTRIES} values, got ${values.length}`)
    return values.map(value => stringArg(name, value, { max: 256 }))
  }
}

/** A piece range as the API writes it, `start-end` with both ends included ("0-45565"). */
export function parsePieceRange (name: string, text: string): { start: number, end: number } {
  const match = /^(\d{1,15})-(\d{1,15})$/.exec(text)
  if (match === null) throw new BadParameter(name, `must be "<start>-<end>", got ${show(text)}`)
  const start = Number(match[1])
  const end = Number(match[2])
  if (end < start) throw new BadParameter(name, `ends before it starts: ${show(text)}`)
  return { start, end }
}

/** RFC 1123 host name: labels of letters, digits and inner hyphens, 1 to 63 characters each. */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

function stringArg (name: string, value: unknown, rule: StringRule): string {
  if (typeof value !== 'string') throw new BadParameter(name, `must be a string, got ${show(value)}`)
  const max = rule.max ?? MAX_STRING
  if (value.length > max) throw new BadParameter(name, `must be at most ${max} characters, got ${value.length}`)
  if (value.length < (rule.min ?? 0)) throw new BadParameter(name, `must be at least ${rule.min ?? 0} characters, got ${value.length}`)
  if (rule.pattern !== undefined && !rule.pattern.test(value)) throw new BadParameter(name, `must be ${rule.shape ?? `like ${String(rule.pattern)}`}, got ${show(value)}`)
  return value
}

function intRange (name: string, value: number, rule: IntRule): number {
  if (rule.min !== undefined && value < rule.min) throw new BadParameter(name, `must be at least ${rule.min}, got ${value}`)
  if (rule.max !== undefined && value > rule.max) throw new BadParameter(name, `must be at most ${rule.max}, got ${value}`)
  return value
}

function oneOfArg<T extends string> (name: string, value: unknown, values: readonly T[]): T {
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) throw new BadParameter(name, `must be one of ${values.join(', ')}, got ${show(value)}`)
  return value as T
}

/** A value as a message may show it: short, JSON. */
function show (value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 60)}...` : text
}
