import type { Writable } from 'node:stream'
import { Timeout } from '../../protocol/errors.js'

/** The stream written to closed, or was closed already, before it took the bytes (an HTTP client, a pipe or a control client gone). */
export class WritableClosed extends Error {
  static override name = 'WritableClosed'
  constructor (message = 'the stream closed before it took the bytes') {
    super(message)
    this.name = 'WritableClosed'
  }
}

export interface WriteOptions {
  /** Longest wait for a drain; then Timeout (a reader that stopped reading but stays connected). @default no limit */
  stallMs?: number
  signal?: AbortSignal
}

/**
 * Writes `bytes` to a Node writable (an HTTP response, stdout, a socket) and, when it is full,
 * waits for it to drain, or for it to close or fail, whichever comes first. A bare wait for
 * 'drain' never ends once the other side is gone: the caller's loop then hangs with its store
 * reader and files open. This rejects instead (WritableClosed, the stream's error, Timeout after
 * `stallMs`, the signal's reason), so the caller's `for await` ends and its reader closes.
 */
export async function writeDrained (stream: NodeJS.WritableStream | Writable, bytes: Uint8Array, options: WriteOptions = {}): Promise<void> {
  options.signal?.throwIfAborted()
  if (isGone(stream)) throw new WritableClosed()
  if (stream.write(bytes)) return
  await new Promise<void>((resolve, reject) => {
    const timer = options.stallMs === undefined
      ? undefined
      : setTimeout(() => { done(); reject(new Timeout(`the stream took nothing for ${options.stallMs as number} ms`)) }, options.stallMs)
    const onDrain = (): void => { done(); resolve() }
    const onClose = (): void => { done(); reject(new WritableClosed()) }
    const onError = (err: Error): void => { done(); reject(err) }
    const onAbort = (): void => { done(); reject(options.signal?.reason) }
    const done = (): void => {
      clearTimeout(timer)
      stream.off('drain', onDrain)
      stream.off('close', onClose)
      stream.off('error', onError)
      options.signal?.removeEventListener('abort', onAbort)
    }
    stream.on('drain', onDrain)
    stream.on('close', onClose)
    stream.on('error', onError)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    // Destroyed inside write() (its 'close' may already be past): do not wait for what will not come.
    if (isGone(stream)) onClose()
  })
}

function isGone (stream: NodeJS.WritableStream | Writable): boolean {
  const state = stream as Partial<Writable>
  return state.destroyed === true || state.writableEnded === true
}
