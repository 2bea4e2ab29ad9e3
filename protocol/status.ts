import { Internal, MalformedMessage, NotFound, Permission, RateLimited, RequestTooLarge } from './errors.js'

/**
 * How a response ends on verity's framed protocol (docs/PROTOCOL.md, "Framed responses"). 1 and
 * 2 are iroh's codes; iroh's 3 (internal or not found) is split in two; 6 is a request over the
 * provider's limits (protocol/limits.ts).
 */
export const Status = { Ok: 0, Permission: 1, RateLimited: 2, NotFound: 3, Internal: 4, Malformed: 5, TooLarge: 6 } as const
export type StatusCode = typeof Status[keyof typeof Status]

/** The status a provider sends for an error raised while serving. */
export function statusOf (err: Error): StatusCode {
  switch (err.name) {
    case 'Permission': return Status.Permission
    case 'RateLimited': return Status.RateLimited
    // A root that is not a HashSeq has no children to send: to the requester, they are not here.
    case 'NotFound': case 'MissingRange': case 'InvalidHashSeq': return Status.NotFound
    case 'MalformedMessage': return Status.Malformed
    case 'RequestTooLarge': return Status.TooLarge
    default: return Status.Internal
  }
}

/** JavaScript's own error classes: their messages are whatever the code that threw them said. */
const UNNAMED = new Set(['Error', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError', 'AggregateError', 'SystemError'])

/**
 * What a provider tells the requester about an error: its name, and its message only when the
 * message is verity's own account of a request's fault. A system error's message names the
 * provider's files (an ENOENT's path, a store error's path) and a plain Error's may say anything
 * about the provider's machine, so those go out as their name and a fixed sentence; the whole
 * error is in the provider's log and its `aborted` event.
 */
export function wireMessage (err: Error): string {
  const local = UNNAMED.has(err.name) || typeof (err as { code?: unknown }).code === 'string' || 'path' in err || 'syscall' in err
  return local ? `${err.name}: the provider failed serving this request (its log has why)` : `${err.name}: ${err.message}`
}

/** The named error a requester raises for a status from the provider. */
export function errorOf (status: number, message: string): Error {
  const text = message === '' ? undefined : `peer: ${message}`
  switch (status) {
    case Status.Permission: return new Permission(text)
    case Status.RateLimited: return new RateLimited(text)
    case Status.NotFound: return new NotFound('', text ?? 'the peer does not have the data asked for')
    case Status.Internal: return new Internal(text)
    case Status.Malformed: return new MalformedMessage(text ?? 'the peer could not read the request')
    case Status.TooLarge: return new RequestTooLarge('', 0, 0, text ?? 'the request is over the peer\'s limits')
    // Not a status of this protocol: the peer broke it (whatever data came before verified on its own).
    default: return new MalformedMessage(`unknown end status ${status} from the peer${text === undefined ? '' : `: ${text}`}`)
  }
}
