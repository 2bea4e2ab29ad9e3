/**
 * Named errors of the scheduler; each carries the HTTP status it is answered with, and the server
 * writes it as the API's Error schema (`{"message": ...}`, plus `code` and `name`). Callers check
 * `err.name`.
 */

export abstract class SchedulerError extends Error {
  abstract readonly status: number
}

/** A request the API cannot take: bad JSON, a missing or out-of-range field (`field` names it). 400. */
export class BadParameter extends SchedulerError {
  static override name = 'BadParameter'
  readonly status = 400
  constructor (readonly field: string, detail: string) {
    super(`${field}: ${detail}`)
    this.name = 'BadParameter'
  }
}

/** No such peer, task, piece or preheat. 404. */
export class UnknownRecord extends SchedulerError {
  static override name = 'UnknownRecord'
  readonly status = 404
  constructor (readonly kind: string, readonly id: string) {
    super(`no such ${kind}: ${JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}...` : id)}`)
    this.name = 'UnknownRecord'
  }
}

/** A request body over the limit; refused before it is read. 413. */
export class BodyTooLarge extends SchedulerError {
  static override name = 'BodyTooLarge'
  readonly status = 413
  constructor (readonly limit: number) {
    super(`the request body is over ${limit} bytes`)
    this.name = 'BodyTooLarge'
  }
}

/** A preheat of this URL exists already (and has not failed). 409. */
export class PreheatExists extends SchedulerError {
  static override name = 'PreheatExists'
  readonly status = 409
  constructor (readonly id: string) {
    super(`preheat task ${id} already exists`)
    this.name = 'PreheatExists'
  }
}

/** A bound on what the scheduler keeps is reached (peers, tasks, preheats). 429. */
export class SchedulerFull extends SchedulerError {
  static override name = 'SchedulerFull'
  readonly status = 429
  constructor (readonly kind: string, readonly limit: number) {
    super(`${limit} ${kind} are kept already: try later`)
    this.name = 'SchedulerFull'
  }
}

/** The path names nothing here (404), or the method is not one the path takes (405). */
export class NoRoute extends SchedulerError {
  static override name = 'NoRoute'
  constructor (readonly status: 404 | 405, method: string, path: string) {
    super(status === 404 ? `no such path: ${path.slice(0, 100)}` : `${method} is not allowed on ${path.slice(0, 100)}`)
    this.name = 'NoRoute'
  }
}

/** Another scheduler has this state directory open (LevelDB's lock): one scheduler per directory. */
export class SchedulerLocked extends Error {
  static override name = 'SchedulerLocked'
  constructor (readonly location: string, options?: { cause?: unknown }) {
    super(`the scheduler's state in ${location} is in use by another process (one scheduler per data directory)`, options)
    this.name = 'SchedulerLocked'
  }
}
