import { toHex } from '../../store/hash-text.js'
import type { VerityNode } from '../node/create-node.js'
import { safeUrlOf } from '../origin/safe-url.js'
import { urlArg } from '../origin/task-id.js'
import { type Answer, type Ask, queryOf, textAnswer } from './answer.js'
import { blobAnswer } from './blob-answer.js'

/** The HTTP status an error of a task answers with (docs/origins.md, "GET /tasks"). */
const STATUS_OF: Record<string, number> = {
  OriginNotFound: 404,
  OriginDenied: 403,
  OriginForbiddenAddress: 403,
  OriginUnavailable: 502,
  OriginBadResponse: 502,
  OriginRangeIgnored: 502,
  OriginTimeout: 504,
  OriginChanged: 409,
  UnsupportedScheme: 400,
  TypeError: 400,
  RangeError: 400,
  Permission: 403
}

/**
 * `/tasks?url=<url>[&filter=a,b][&tag=x][&application=y]` on a seed, however it was asked (HTTP,
 * or `/verity/request/1` from `peer`): the URL's task imported through the seed (so one origin
 * fetch however many ask, and none for a task known here), then its blob answered as
 * `/blob/<hash>` answers (Range, ETag, verified bytes, or the encoded range stream on
 * `Accept: application/x-bao`), with `x-verity-task` and `x-verity-hash`. A directory's task
 * answers JSON naming its collection's files. Errors: the origin's as HTTP statuses (404, 403,
 * 502, 504, 409), a URL the seed does not fetch 403 (outside its prefixes, a peer it does not
 * serve, an address that is not public: OriginForbiddenAddress), a bad query 400; the body is
 * JSON `{ error, message, url? }`. Over HTTP there is no peer id: the seed's URL prefixes apply,
 * its peer list does not (bind the gateway where only those who may use it reach it).
 */
export async function taskAnswer (node: VerityNode, ask: Ask, peer?: string): Promise<Answer> {
  const seed = node.seed
  if (seed === undefined) return textAnswer(404, 'not a seed: /tasks is served by verity serve --seed\n')
  const query = queryOf(ask.url)
  const given = query.get('url')
  if (given === null || given === '') return textAnswer(400, 'GET /tasks?url=<url>[&filter=a,b][&tag=x]: url is missing\n')
  const filter = query.getAll('filter').flatMap(value => value.split(',')).map(name => name.trim()).filter(name => name !== '')
  const tag = query.get('tag') ?? undefined
  const application = query.get('application') ?? undefined
  let result
  try {
    const url = urlArg(given)
    result = await seed.importFor(url, safeUrlOf(url, filter), {
      filter, ...(tag === undefined ? {} : { tag }), ...(application === undefined ? {} : { application }), signal: ask.signal
    }, peer)
  } catch (err) {
    const error = err as Error & { url?: string }
    const status = STATUS_OF[error.name]
    if (status === undefined) throw err
    const body = { error: error.name, message: error.message, ...(error.url === undefined ? {} : { url: error.url }) }
    return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) + '\n' }
  }
  const headers = { 'x-verity-task': result.taskId, 'x-verity-hash': toHex(result.hash) }
  if (result.format === 'hashseq') {
    const files = (await node.blobs.readCollection(result.hash)).map(entry => ({ name: entry.name, hash: toHex(entry.hash), blob: `/blob/${toHex(entry.hash)}` }))
    const body = JSON.stringify({ taskId: result.taskId, hash: toHex(result.hash), format: 'hashseq', size: result.size, files }) + '\n'
    return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body }
  }
  return await blobAnswer(node, [], result.hash, ask, { headers })
}
