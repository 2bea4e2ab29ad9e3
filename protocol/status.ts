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
