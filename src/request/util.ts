/** Every chunk of `body` in one array. */
export async function collect (body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let length = 0
  for await (const part of body) {
    parts.push(part)
    length += part.length
  }
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** `http://host:port` for an address given as `host:port` or as an http URL. */
export function httpOrigin (address: string): string {
  if (typeof address !== 'string' || address === '') throw new TypeError(`address must be host:port or an http URL, got ${JSON.stringify(address)}`)
  const url = new URL(address.includes('://') ? address : `http://${address}`)
  if (url.protocol !== 'http:') throw new TypeError(`address must be host:port or an http URL, got ${JSON.stringify(address)}`)
  return url.origin
}
