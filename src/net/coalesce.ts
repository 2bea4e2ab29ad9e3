/**
 * `source`'s bytes in pieces of up to `maxBytes`: parts that are ready one after another (a
 * store reader yielding 16 KiB groups) are copied into one piece, so a transport that costs a
 * message per write (a libp2p stream: a frame, a dispatch, an event each) sees few large writes;
 * a part that is not ready by the next turn of the event loop lets what was gathered go at once,
 * so a slow source is never held back waiting for more.
 */
export async function * coalesce (source: AsyncIterable<Uint8Array>, maxBytes = 256 << 10): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]()
  const held: Uint8Array[] = []
  let heldBytes = 0
  let pending: Promise<IteratorResult<Uint8Array>> | undefined
  const flush = (): Uint8Array => {
    const out = held.length === 1 ? held[0] as Uint8Array : new Uint8Array(heldBytes)
    if (held.length > 1) {
      let at = 0
      for (const part of held) { out.set(part, at); at += part.length }
    }
    held.length = 0
    heldBytes = 0
    return out
  }
  try {
    while (true) {
      pending ??= iterator.next()
      let next: IteratorResult<Uint8Array> | undefined
      if (heldBytes === 0) next = await pending
      else {
        const waited = await Promise.race([pending, new Promise<undefined>(resolve => { setImmediate(resolve, undefined) })])
        if (waited === undefined) { yield flush(); continue }
        next = waited
      }
      pending = undefined
      if (next.done === true) break
      const part = next.value
      if (heldBytes + part.length > maxBytes && heldBytes > 0) yield flush()
      if (part.length >= maxBytes) { yield part; continue }
      held.push(part)
      heldBytes += part.length
    }
    if (heldBytes > 0) yield flush()
  } finally {
    if (pending === undefined) await iterator.return?.()
    else pending.then(async () => await iterator.return?.(), () => {})
  }
}
