import { UsageError } from './args.js'
import { detailOf, isLibraryError, troubleOf, troubleWords, type Trouble } from './fetch-words.js'

/**
 * How a command's error ends it: the exit code and what goes on stderr, every line starting once
 * with `verity: `. verity's own errors say what happened in their message (a named one shows its
 * name first: `verity: StoreFull: ...`); Node's system errors (ENOSPC on the output, EACCES) are
 * said in verity's words here; the text a library gave, when the CLI put its own words in front
 * of it, is kept as the error's `detail` and shown with `-v`.
 */

/** Ctrl-C (SIGINT) or SIGTERM during a command: exit 130, partial data kept. */
export class Interrupted extends Error {
  static override name = 'Interrupted'
  constructor (message = 'interrupted') {
    super(message)
    this.name = 'Interrupted'
  }
}

/** `error` with the text it replaced (a library's, the Downloader's) kept for `-v`. */
export function withDetail<E extends Error> (error: E, detail: string): E {
  return Object.assign(error, { detail })
}

/** What to do about a failure, by the error's name. */
const HINTS: Record<string, string> = {
  StoreLocked: ' (one process per data directory: stop the verity serve or send using it, or give this command its own --data-dir)',
  StoreFull: ' (free space or run verity gc)',
  StunServerFailed: ' (give --stun-server another address or port: one of this machine\'s, not in use)'
}

/** Node's system errors, by code: what happened, in words. */
const SYSTEM: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'the file system is read-only',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'it exists already',
  EIO: 'the device failed to read or write (EIO)',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long'
}

/** What to do after a system error, by code. */
const SYSTEM_NEXT: Record<string, string> = {
  ENOSPC: 'free some space, then run the same command again (what was fetched is kept in the store)',
  EDQUOT: 'free some space, then run the same command again (what was fetched is kept in the store)',
  EACCES: 'give a place you may write to',
  EPERM: 'give a place you may write to',
  EROFS: 'give a place on a writable file system'
}

/** A Node system error (`code`, and often `syscall` and `path`) in verity's words, or undefined. */
function systemLine (error: NodeJS.ErrnoException): string | undefined {
  const code = error.code
  if (code === undefined || !Object.hasOwn(SYSTEM, code)) return undefined
  const what = error.path !== undefined ? `${error.path}: ` : error.syscall === 'write' ? 'writing the output: ' : ''
  const next = SYSTEM_NEXT[code]
  return `${what}${SYSTEM[code] as string} (${code})${next === undefined ? '' : `; ${next}`}`
}

/** A connection's failure (Node's, or a transport's that kept Node's code), by its class. */
const NETWORK: Partial<Record<Trouble, string>> = {
  refused: 'the connection was refused (nothing listens there: check the address, and that the program is running)',
  unreachable: 'cannot be reached from here (check the address and the network)',
  timeout: 'no answer in time',
  broken: 'the connection broke off'
}

/** A plain Error from a connection (`connect ECONNREFUSED 127.0.0.1:1`) in verity's words, or undefined. */
function networkLine (error: Error): string | undefined {
  // Node's errors carry their code: a message of verity's that quotes one is left as it is.
  if (typeof (error as NodeJS.ErrnoException).code !== 'string') return undefined
  const words = NETWORK[troubleOf(error, 'error')]
  if (words === undefined) return undefined
  const { address, port } = error as { address?: unknown, port?: unknown }
  return `${typeof address === 'string' ? `cannot connect to ${address}${typeof port === 'number' ? `:${port}` : ''}` : 'cannot connect'}: ${words}`
}

/** Any other error of a library's (libp2p's EncryptionFailedError, a bare dial error): its class in words. */
function libraryLine (error: Error): string | undefined {
  if (!isLibraryError(error)) return undefined
  return `${troubleWords(troubleOf(error, 'error'))} (-v shows the libraries' own text)`
}

/** No seed could take a `get <url>` (NoSeedAvailable lists each seed's error): each seed's trouble in words. */
function seedsLine (error: Error): string | undefined {
  const tried = (error as { tried?: unknown }).tried
  if (error.name !== 'NoSeedAvailable' || !Array.isArray(tried) || tried.length === 0) return undefined
  const each = (tried as Array<{ seed: string, error: Error }>).map(({ seed, error }) => `${seed}: ${troubleWords(troubleOf(error, 'error'))}`)
  return `NoSeedAvailable: no seed could take the request; tried ${each.join('; ')}`
}

/** An origin server's failure below HTTP, by its class: what happened, in words. */
const ORIGIN: Partial<Record<Trouble, string>> = {
  refused: 'the server refused the connection (is it running, and is the port right?)',
  unreachable: 'the server cannot be reached from here (check the host name and the network)',
  timeout: 'the server did not answer in time',
  broken: 'the connection to the server broke off'
}

/** An origin that could not be reached (its error wraps Node's), in verity's words, or undefined. */
function originLine (error: Error): string | undefined {
  const url = (error as { url?: unknown }).url
  if (error.name !== 'OriginUnavailable' || typeof url !== 'string' || !(error.cause instanceof Error)) return undefined
  const words = ORIGIN[troubleOf(error, 'error')]
  return words === undefined ? undefined : `${url}: ${words}; try again later, or check the URL`
}

/**
 * The exit code and stderr lines of a command's error: one line, and with `verbose` a second
 * with the detail behind it (a library's text) when there is one.
 */
export function failure (err: unknown, verbose = false): { code: number, line: string } {
  const error = err instanceof Error ? err : new Error(String(err))
  const detail = (error as { detail?: unknown }).detail
  const more = verbose && typeof detail === 'string' ? `\nverity: detail: ${detail.replace(/\n/g, ' ')}` : ''
  if (error instanceof UsageError) return { code: 2, line: `verity: ${error.message} (verity ${error.command === undefined ? '' : `${error.command} `}--help for usage)${more}` }
  if (error instanceof Interrupted) return { code: 130, line: `verity: ${error.message}${more}` }
  // Node's own (name Error, with a code); verity's named errors that carry a code say it already.
  const own = error.name === 'Error' ? systemLine(error) ?? networkLine(error) ?? libraryLine(error) : originLine(error) ?? seedsLine(error) ?? libraryLine(error)
  if (own !== undefined) return { code: 1, line: `verity: ${own}${verbose ? `\nverity: detail: ${detailOf(error)}` : ''}` }
  const name = error.name === 'Error' ? '' : `${error.name}: `
  return { code: 1, line: `verity: ${name}${error.message.split('\n')[0] as string}${HINTS[error.name] ?? ''}${more}` }
}

/**
 * Whether a command line asks for -v (`-v`, `--verbose`, or `v` among grouped short flags such
 * as `-qv`) before `--`: main reads it for the failure's detail, which comes after the command's
 * own parser has gone.
 */
export function asksVerbose (argv: string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).some(arg => arg === '--verbose' || /^-[a-zA-Z]*v[a-zA-Z]*$/.test(arg))
}
