/**
 * `promise`, or a rejection with `signal`'s reason as soon as it aborts (at once if it already
 * has), whichever comes first. The abort listener is removed either way; `promise` itself runs on.
 */
export async function untilAborted<T> (promise: T | PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  // Left behind on abort, it may still fail (a stream reset with the reason of the abort): that
  // failure is nobody's any more, and must not count as an unhandled rejection, which ends the process.
  const settled = Promise.resolve(promise)
  settled.catch(() => {})
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([settled, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort as () => void)
  }
}
