import type { FailureReason } from '../downloader/interface.js'

/**
 * What went wrong with a provider, said in verity's words: the libraries' own text (libp2p's
 * "Dialed peer ... but connected to ...", Node's "connect ECONNREFUSED ...") never reaches the
 * user as the message; `detailOf` keeps it for `-v`. Errors are told apart by their name, their
 * `code` and their reason; only a system error code (ECONNREFUSED) that a transport left in its
 * text alone is read from the text.
 */

/** How a provider's failure is classed, for the words and for what to do next. */
export type Trouble = 'refused' | 'unreachable' | 'noAddress' | 'wrongPeer' | 'notVerity' | 'timeout' | 'broken' | 'lacks' | 'corrupt' | 'slow' |
  'denied' | 'busy' | 'failedThere' | 'other'

/** The parts of an AggregateError (libp2p's dial of several addresses), else none. */
function partsOf (error: Error): unknown[] {
  const parts = (error as { errors?: unknown }).errors
  return Array.isArray(parts) ? parts : []
}

/** System error codes anywhere in an error: its own, its cause's, an AggregateError's parts, its text. */
function codesOf (error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 4) return []
  const own = (error as { code?: unknown }).code
  const codes = typeof own === 'string' ? [own] : []
  codes.push(...(error.message.match(/\bE[A-Z]{4,}\b/g) ?? []))
  codes.push(...codesOf((error as { cause?: unknown }).cause, depth + 1))
  for (const inner of partsOf(error)) codes.push(...codesOf(inner, depth + 1))
  return codes
}

/** Names anywhere in an error: its own, its cause's, an AggregateError's parts. */
function namesOf (error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 4) return []
  const names = [error.name, ...namesOf((error as { cause?: unknown }).cause, depth + 1)]
  for (const inner of partsOf(error)) names.push(...namesOf(inner, depth + 1))
  return names
}

const REFUSED = new Set(['ECONNREFUSED'])
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'])
const BROKEN = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])
const HANDSHAKE = new Set(['EncryptionFailedError', 'InvalidCryptoExchangeError', 'UnexpectedPeerError'])
const NOT_VERITY = new Set(['UnsupportedProtocolError', 'ProtocolError', 'InvalidMessageError', 'MuxerUnavailableError', 'MalformedMessage'])
const TIMEOUT = new Set(['Timeout', 'TimeoutError', 'ETIMEDOUT'])
const CLOSED = new Set(['StreamResetError', 'StreamAbortedError', 'StreamStateError', 'ConnectionClosedError', 'ConnectionClosingError', 'MuxerClosedError', 'Aborted'])

/** libp2p's own errors (and the transports'), which say nothing to a person as they are. */
const LIBRARY = new Set(['NoValidAddressesError', 'DialError', 'ConnectionFailedError', ...HANDSHAKE, ...NOT_VERITY, ...[...CLOSED].filter(name => name !== 'Aborted'), 'TimeoutError', 'AbortError'])

/**
 * Whether `error` is libp2p's own: one of its names, or the QUIC transport's plain "Dialed peer
 * ... but connected to ..." (a plain Error with a system code is Node's or verity's, said apart).
 */
export function isLibraryError (error: Error): boolean {
  return LIBRARY.has(error.name) || troubleOf(error, 'error') === 'wrongPeer'
}

/** The class of a provider's failure. */
export function troubleOf (error: Error, reason: FailureReason): Trouble {
  if (reason === 'badData') return 'corrupt'
  if (reason === 'notFound') return 'lacks'
  if (reason === 'tooSlow') return 'slow'
  // What the provider answered (protocol/errors.ts): verity's own names.
  if (error.name === 'Permission') return 'denied'
  if (error.name === 'RateLimited' || error.name === 'RequestTooLarge') return 'busy'
  if (error.name === 'Internal') return 'failedThere'
  const codes = codesOf(error)
  const names = namesOf(error)
  if (codes.some(code => REFUSED.has(code))) return 'refused'
  if (codes.some(code => UNREACHABLE.has(code))) return 'unreachable'
  if (names.includes('NoValidAddressesError')) return 'noAddress'
  // libp2p's QUIC transport says a peer other than the one named answered with a plain Error.
  if (names.some(name => HANDSHAKE.has(name)) || /^Dialed peer \S+ but connected to /.test(error.message)) return 'wrongPeer'
  if (names.some(name => NOT_VERITY.has(name))) return 'notVerity'
  if (names.some(name => TIMEOUT.has(name)) || codes.some(code => TIMEOUT.has(code))) return 'timeout'
  if (codes.some(code => BROKEN.has(code)) || names.some(name => CLOSED.has(name))) return 'broken'
  return 'other'
}

/** What happened, as the rest of a line that names the provider first: "<peer>: <words>". */
export function troubleWords (trouble: Trouble): string {
  switch (trouble) {
    case 'refused': return 'the connection was refused (nothing listens at that address: is the sender still running there?)'
    case 'unreachable': return 'cannot be reached from here (no route to that address)'
    case 'noAddress': return 'no address to connect to (give a multiaddr with one, such as /ip4/192.168.1.5/udp/4433/quic-v1/p2p/<peer id>, or a ticket)'
    case 'wrongPeer': return 'the handshake failed: another node, or a program that is no libp2p node, answers at that address'
    case 'notVerity': return 'it does not speak verity\'s protocol (is it a verity node?)'
    case 'timeout': return 'no answer in time'
    case 'broken': return 'the connection broke off'
    case 'lacks': return 'it does not have it (or not all of it)'
    case 'corrupt': return 'it sent data that does not match the hash (corrupt or lying): none of that was kept'
    case 'slow': return 'it sent too slowly (under --min-rate)'
    case 'denied': return 'it refused the request (its policy does not serve this to this node)'
    case 'busy': return 'it is busy and turned the request away'
    case 'failedThere': return 'it failed on its side (its copy may be corrupt, or its disk full)'
    case 'other': return 'the request failed'
    default: {
      const never: never = trouble
      throw new TypeError(`unknown trouble ${String(never)}`)
    }
  }
}

/** What to do about a failed fetch, by the troubles its providers met. */
export function nextStep (troubles: Trouble[]): string {
  const all = (...kinds: Trouble[]): boolean => troubles.length > 0 && troubles.every(t => kinds.includes(t))
  if (all('lacks')) return 'check the hash, or ask for a ticket from a node that has it'
  if (all('corrupt', 'failedThere')) return 'fetch it from another provider (--provider); the provider\'s owner can run verity verify --repair'
  if (all('denied')) return 'ask the provider\'s owner to serve it to you (verity send serves only what it sends)'
  if (all('busy')) return 'try again later, or add another --provider'
  if (all('refused', 'unreachable', 'timeout', 'broken')) return 'check that the sender is running and reachable from here, then run the same command again (what verified is kept)'
  if (all('wrongPeer')) return 'check the address and the peer id, or ask the sender for a fresh ticket'
  if (all('noAddress')) return 'give the provider\'s address in the multiaddr, or its ticket'
  return 'run the same command again to resume (what verified is kept), or add another --provider; -v shows each provider\'s error'
}

/** The library's own text of an error, causes included: what `-v` shows. */
export function detailOf (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as { cause?: unknown }).cause
  const inner = partsOf(error)
  const parts = inner.length > 0 ? `; ${inner.map(part => detailOf(part)).join('; ')}` : ''
  return `${error.name}: ${error.message}${parts}${cause instanceof Error ? ` (cause: ${detailOf(cause)})` : ''}`
}
