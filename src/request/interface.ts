/** The request plane clients' types (Dynamo's RequestPlaneClient, in TypeScript conventions). */

import type { PoolStats } from '../net/pool.js'

export type TransportName = 'libp2p' | 'http'

export type RequestHeaders = Record<string, string>

export interface SendOptions {
  /** Milliseconds for the whole request, response body included; Timeout after. */
  timeout?: number
  signal?: AbortSignal
}

export interface OpenOptions extends SendOptions {
  /** @default 'GET' without a payload, 'POST' with one */
  method?: string
  headers?: RequestHeaders
  payload?: Uint8Array
}

/** A response whose body is read as it arrives; reading it to its end counts the response. */
export interface StreamResponse {
  status: number
  headers: RequestHeaders
  body: AsyncIterable<Uint8Array>
  /** Stops the transfer (the connection is dropped, not returned to the pool). */
  cancel: () => void
}

/**
 * A client's counters. `bytesSent` counts request payloads, `bytesReceived` response bodies
 * (headers are not counted). A response counts when its body has been read to its end; an error
 * is a request that failed for the transport (connect, reset, timeout, abort, close): an HTTP
 * error status is a response. `avgLatencyUs`: from sending to the body's end, over responses.
 */
export interface ClientStats extends Omit<PoolStats, 'averageLatencyUs'> {
  /** Dynamo's name; unlike the pool's `averageLatencyUs` (to the first byte), to the body's end. */
  avgLatencyUs: number
}

export interface CloseOptions {
  /**
   * How long in-flight requests may take to finish before their connections are closed.
   * @default 5000
   */
  timeoutMs?: number
}

/** Sends requests to addresses over one transport: the face the request SDK routes through. */
export interface RequestPlaneClient {
  readonly transportName: TransportName
  /** Sends `payload` with `headers` to `address` and resolves to the whole response body (RequestFailed for a status >= 400). */
  sendRequest: (address: string, payload: Uint8Array, headers?: RequestHeaders, options?: SendOptions) => Promise<Uint8Array>
  /** Opens a request and resolves when the response starts, its body to be read. */
  open: (address: string, options?: OpenOptions) => Promise<StreamResponse>
  /** Without I/O: false once closed, when the pool is exhausted (requests wait for a connection), or when the transport is down. */
  isHealthy: () => boolean
  stats: () => ClientStats
  /**
   * Reads `instances` (each item the current list of addresses) until it ends or `signal` aborts,
   * connecting to each address not seen before, so that its first request finds a connection.
   */
  startWarmup: (instances: AsyncIterable<readonly string[]>, signal: AbortSignal) => Promise<void>
  /** Lets in-flight requests finish up to `timeoutMs`, then closes every connection; later calls fail with ClientClosed. */
  close: (options?: CloseOptions) => Promise<void>
}
