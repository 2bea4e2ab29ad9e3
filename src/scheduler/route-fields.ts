import type { PeerRecord } from './interface.js'
import type { PieceOutcome } from './pieces.js'
import type { TaskCreation } from './tasks.js'
import type { BodyFields } from './validate.js'

/** What the routes of both sets (routes-api.ts, routes-peer.ts) check fields against. */

/** A peer's uploader port, as the API bounds it. */
export const PORT = { min: 15000, max: 65000 } as const
/**
 * Ids a client names (task ids, client ids, peer ids): printable ASCII without spaces, bounded
 * (they become LevelDB keys, whose parts are joined with NUL).
 */
export const ID = { min: 1, max: 256, pattern: /^[\x21-\x7e]+$/, shape: 'printable ASCII without spaces' } as const
export const HASH = /^[0-9a-f]{64}$/
export const PIECE_STATUS = ['FAILED', 'SUCCESS', 'INVALID', 'SEMISUC'] as const
/** What a piece result reports: SUCCESS and SEMISUC a verified piece, INVALID a corrupt one, FAILED a failure. */
export function outcomeOf (status: typeof PIECE_STATUS[number]): PieceOutcome {
  return status === 'SUCCESS' || status === 'SEMISUC' ? 'good' : status === 'INVALID' ? 'corrupt' : 'failed'
}

/** The task fields of a TaskCreateRequest or TaskRegisterRequest, checked. */
export function creation (body: BodyFields, rawURL: string, given: { hash?: string | undefined, creator?: PeerRecord | undefined, asSeed?: boolean | undefined, headers?: Record<string, string> | undefined }): TaskCreation {
  const filter = body.strings('filter')
  const identifier = body.string('identifier', { max: 256 })
  const md5 = body.string('md5', { max: 64 })
  const fileLength = body.int('fileLength', { min: 0 })
  const taskId = body.string('taskId', ID)
  const out: TaskCreation = { rawURL }
  if (filter !== undefined) out.filter = filter
  if (identifier !== undefined) out.identifier = identifier
  if (given.headers !== undefined) out.headers = given.headers
  if (md5 !== undefined) out.md5 = md5
  if (fileLength !== undefined) out.fileLength = fileLength
  if (taskId !== undefined) out.taskId = taskId
  if (given.hash !== undefined) out.hash = given.hash
  if (given.creator !== undefined) out.creator = given.creator
  if (given.asSeed !== undefined) out.asSeed = given.asSeed
  return out
}
