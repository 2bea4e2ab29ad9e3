import type { Scheduler } from './scheduler.js'
import type { QueryFields } from './validate.js'

/** One request as a route sees it: path parameters (decoded), the query, and the JSON body. */
export interface RouteRequest {
  params: string[]
  query: QueryFields
  /** The body parsed as JSON (undefined when empty); BadParameter `body` when it is not JSON. */
  body: () => Promise<unknown>
}

/** A route's answer: JSON (`json`), text, or nothing (`status` alone). */
export interface RouteReply {
  status: number
  json?: unknown
  text?: string
  contentType?: string
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** The path, `{name}` standing for one parameter (a segment); it is also the route's metrics label. */
  path: string
  handle: (scheduler: Scheduler, request: RouteRequest) => Promise<RouteReply>
}
