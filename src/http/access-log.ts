import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * An access log in the Common Log Format, one line per HTTP request once its response has ended
 * (or the client went away):
 *
 *     127.0.0.1 - - [29/Nov/2026:17:04:47 +0000] "GET /blob/ab12... HTTP/1.1" 206 1048576
 *
 * host, ident and user (always `-`), the time in UTC, the request line, the status and the body
 * bytes sent (`-` for none). A request line's quotes, backslashes and control characters are
 * escaped (`\"`, `\\`, `\x0a`), so a client cannot forge a line of its own.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

const two = (n: number): string => String(n).padStart(2, '0')

/** `[29/Nov/2026:17:04:47 +0000]` */
export function clfTime (date: Date): string {
  return `[${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()] as string}/${date.getUTCFullYear()}:` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000]`
}

/** Text inside the quoted request line: `"` and `\` escaped, control and non-ASCII characters as \xhh. */
export function clfEscape (text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0) as number
    if (char === '"' || char === '\\') out += `\\${char}`
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    else if (code > 0x7e) out += [...Buffer.from(char, 'utf8')].map(byte => `\\x${byte.toString(16)}`).join('')
    else out += char
  }
  return out
}

/** One line, from what a request asked and what its response did. */
export function clfLine (entry: { host: string | undefined, time: Date, method: string | undefined, url: string | undefined, httpVersion: string, status: number, bytes: number }): string {
  const request = clfEscape(`${entry.method ?? '-'} ${entry.url ?? '-'} HTTP/${entry.httpVersion}`)
  return `${entry.host ?? '-'} - - ${clfTime(entry.time)} "${request}" ${entry.status} ${entry.bytes === 0 ? '-' : entry.bytes}`
}

/**
 * A hook for the gateway (`GatewayOptions.onRequest`): counts the body bytes each response sends
 * and writes its line through `write` when it ends. `now` is for tests.
 */
export function accessLog (write: (line: string) => void, now: () => Date = () => new Date()): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const time = now()
    let bytes = 0
    const count = (chunk: unknown, encoding: unknown): void => {
      if (typeof chunk === 'string') bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? encoding as BufferEncoding : 'utf8')
      else if (chunk instanceof Uint8Array) bytes += chunk.byteLength
    }
    const write0 = res.write
    const end0 = res.end
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      count(chunk, rest[0])
      return (write0 as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
    } as typeof res.write
    res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      if (typeof chunk !== 'function') count(chunk, rest[0])
      return (end0 as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest)
    } as typeof res.end
    res.once('close', () => {
      write(clfLine({ host: req.socket.remoteAddress, time, method: req.method, url: req.url, httpVersion: req.httpVersion, status: res.statusCode, bytes }))
    })
  }
}
