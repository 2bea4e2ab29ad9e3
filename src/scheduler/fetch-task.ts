import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { RangeSpecSeq } from '../../protocol/range-spec.js'
import { fromHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import type { VerityNode } from '../node/create-node.js'
import { SchedulerClient, SchedulerRefused } from './client.js'
import { parsePieceRange } from './validate.js'

export interface SchedulerFetchOptions {
  filter?: string[]
  /** The task id's tag (Dragonfly's identifier). */
  tag?: string
  /** Sent to the origin by the seed. */
  headers?: Record<string, string>
  /** Pieces fetched at once. @default 4 */
  concurrency?: number
  /** How often the node tells the scheduler it is alive, and its load (requests its provider serves and queues). @default 5000 */
  heartbeatMs?: number
  /**
   * How long the node stays a source once it has every piece (peers still fetching are handed
   * its pieces meanwhile), before it says `service/down`. @default 0
   */
  lingerMs?: number
  /**
   * Longest the node waits with no piece verified (the scheduler hands out nothing, or nothing
   * handed out arrives) before it fails with SchedulerRefused. @default 120000
   */
  stallMs?: number
  /** Called as each piece is verified (or fails), with where it came from. */
  onPiece?: (piece: { range: string, source: string, ok: boolean, error?: Error }) => void
  signal?: AbortSignal
}

export interface SchedulerFetchResult {
  taskId: string
  hash: Uint8Array
  size: number
  /** Pieces fetched, by the scheduler's id of their source. */
  sources: Record<string, number>
}

/** A piece as the scheduler hands it out (PieceInfo, with the source's node in `extra`). */
interface PieceInfo { pID: string, pieceRange: string, extra?: Record<string, string> }

/** The seed could not import the task: the scheduler's message (an origin error's name first). */
export class SchedulerTaskFailed extends Error {
  static override name = 'SchedulerTaskFailed'
  constructor (readonly taskId: string, detail: string) {
    super(`task ${taskId} failed at the seed: ${detail}`)
    this.name = 'SchedulerTaskFailed'
  }
}

/** A name the API takes as a host name: the machine's, made RFC 1123 safe. */
function hostNameOf (node: VerityNode): string {
  const host = hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 40) || 'verity'
  return `${host}-${node.peerId.slice(-8).toLowerCase().replace(/[^a-z0-9]/g, '0')}`
}

/**
 * A URL fetched through a scheduler: the node registers (as a peer, with its peer id and addresses
 * in `extra`), joins the task (the scheduler has its seed import it), then asks `GET /peer/task`
 * for pieces and fetches each from the peer named (a ranged Get, verified against the blob's hash
 * as it lands), reporting each: success (`PUT .../pieces/{range}`: it holds the piece now and
 * serves it, as any node serves its store) or failure (`POST .../error`, FILE_MD5_NOT_MATCH when
 * the data did not verify), and heartbeats meanwhile. On its way out it says `service/down`.
 */
export async function fetchThroughScheduler (node: VerityNode, scheduler: string | URL, url: string, options: SchedulerFetchOptions = {}): Promise<SchedulerFetchResult> {
  const log = node.libp2p.logger.forComponent('verity:scheduler:fetch')
  const client = new SchedulerClient(scheduler)
  const signal = options.signal
  const addrs = node.addrs().map(String)
  const ip = /\/ip4\/([\d.]+)\//.exec(addrs[0] ?? '')?.[1] ?? '127.0.0.1'
  const cid = `${node.peerId}-${Date.now().toString(36)}`
  const registered = await client.call('POST', '/peer/registry', {
    IP: ip, hostName: hostNameOf(node), cID: cid, rawURL: url,
    extra: { peerId: node.peerId, addrs: addrs.join(' ') },
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    ...(options.tag === undefined ? {} : { identifier: options.tag }),
    ...(options.headers === undefined ? {} : { headers: Object.entries(options.headers).map(([k, v]) => `${k}: ${v}`) })
  }, signal)
  const taskId = registered.data.taskId as string
  const heartbeat = setInterval(() => {
    const { requests, queued } = node.libp2p.services.blobs.provider.load()
    client.call('POST', '/peer/heartbeat', { cID: cid, load: requests + queued }).catch(err => { log.error('heartbeat: %e', err) })
  }, options.heartbeatMs ?? 5000)
  heartbeat.unref()
  const sources: Record<string, number> = {}
  /** Set once the loop below is left, however: a chained piece fetch does not start after it. */
  let ended = false
  try {
    let task = await client.call('GET', `/api/v1/tasks/${taskId}`, undefined, signal)
    while (task.cdnStatus !== 'SUCCESS') {
      if (task.cdnStatus === 'FAILED' || task.cdnStatus === 'SOURCE_ERROR') throw new SchedulerTaskFailed(taskId, (await client.call('GET', `/peer/task?taskId=${taskId}&srcCid=${encodeURIComponent(cid)}`, undefined, signal)).msg)
      await delay(200, undefined, signal === undefined ? {} : { signal })
      task = await client.call('GET', `/api/v1/tasks/${taskId}`, undefined, signal)
    }
    // The scheduler is a peer like any other: what it says of the task is checked before it drives the loop.
    if (!(Number.isSafeInteger(task.fileLength) && task.fileLength >= 0 && Number.isSafeInteger(task.pieceSize) && task.pieceSize > 0 &&
      task.pieceTotal === Math.ceil(task.fileLength / task.pieceSize))) {
      throw new SchedulerRefused(200, `a task that cannot be right: ${task.fileLength} bytes in ${task.pieceTotal} pieces of ${task.pieceSize}`)
    }
    const hash = fromHex(task.hash)
    const inFlight = new Map<string, Promise<void>>()
    const held = new Set<string>()
    const fetchPiece = async (piece: PieceInfo): Promise<void> => {
      const { start, end } = parsePieceRange('pieceRange', piece.pieceRange)
      const provider = { peerId: piece.extra?.peerId ?? '', addrs: (piece.extra?.addrs ?? '').split(' ').filter(a => a !== '') }
      let corrupt = false
      try {
        await node.downloader.download({
          request: { hash, ranges: RangeSpecSeq.fromRanges([ChunkRanges.fromByteRange(start, end + 1)]) },
          providers: [provider],
          strategy: 'none',
          onProgress: item => { if (item.type === 'download:provider-failed' && item.detail.reason === 'badData') corrupt = true },
          ...(signal === undefined ? {} : { signal })
        })
        await client.call('PUT', `/api/v1/tasks/${taskId}/pieces/${piece.pieceRange}`, { clientID: cid, dstPID: piece.pID, pieceStatus: 'SUCCESS' })
        held.add(piece.pieceRange)
        sources[piece.pID] = (sources[piece.pID] ?? 0) + 1
        options.onPiece?.({ range: piece.pieceRange, source: piece.pID, ok: true })
      } catch (err) {
        if (signal?.aborted === true) throw err
        log('piece %s from %s failed: %e', piece.pieceRange, piece.pID, err)
        // A source that has left is unknown to the scheduler by now (404): the report still counted.
        await client.call('POST', `/api/v1/tasks/${taskId}/pieces/${piece.pieceRange}/error`, { srcCid: cid, dstPid: piece.pID, errorType: corrupt ? 'FILE_MD5_NOT_MATCH' : 'FILE_NOT_EXIST' })
          .catch(reportErr => { if (!(reportErr instanceof SchedulerRefused && reportErr.status === 404)) throw reportErr })
        options.onPiece?.({ range: piece.pieceRange, source: piece.pID, ok: false, error: err as Error })
      }
    }
    // Ask for as many pieces as there are free places (GET /api/v1/tasks/{id}/pieces takes `num`),
    // so nothing handed out waits unfetched; none handed out: the rest are on their way to other
    // peers, ask again in a moment.
    const concurrency = options.concurrency ?? 4
    const stallMs = options.stallMs ?? 120000
    let lastHeld = held.size
    let lastProgress = performance.now()
    while (held.size < task.pieceTotal) {
      if (held.size !== lastHeld) { lastHeld = held.size; lastProgress = performance.now() }
      if (performance.now() - lastProgress > stallMs) throw new SchedulerRefused(200, `no piece verified for ${stallMs} ms (${held.size} of ${task.pieceTotal} here)`)
      const want = concurrency - inFlight.size
      const pieces = want <= 0 ? [] : await client.call('GET', `/api/v1/tasks/${taskId}/pieces?clientID=${encodeURIComponent(cid)}&num=${want}`, undefined, signal) as PieceInfo[]
      for (const piece of pieces) {
        // Handed a piece whose fetch here has not ended: that fetch failed and its report reached
        // the scheduler, which hands the piece out again (from another source) before the fetch
        // has finished here. It counts as on its way to this node until it is reported, so
        // dropping it kept it from every other peer too, until the scheduler's assignment timeout
        // (60 s). Fetched once the earlier fetch ends, unless that one got it after all (its
        // report then lands this hand-out too: the scheduler keys them by client and piece) or
        // the fetch is over (aborted, stalled, failed: nothing starts after service/down).
        const earlier = inFlight.get(piece.pieceRange)
        const attempt = earlier === undefined
          ? fetchPiece(piece)
          : earlier.catch(() => {}).then(async () => { if (!ended && signal?.aborted !== true && !held.has(piece.pieceRange)) await fetchPiece(piece) })
        const tracked: Promise<void> = attempt.finally(() => { if (inFlight.get(piece.pieceRange) === tracked) inFlight.delete(piece.pieceRange) })
        inFlight.set(piece.pieceRange, tracked)
      }
      // fetchPiece reports its own failures; a rejection here is only an abort, checked below.
      await Promise.race([...inFlight.values(), delay(pieces.length > 0 ? 0 : 100)].map(async p => { await p.catch(() => {}) }))
      if (signal?.aborted === true) throw signal.reason
    }
    // Every piece reported verified is a range of the blob: together they must be all of it.
    const status = await node.blobs.status(hash)
    if (status.status !== 'complete' || status.size !== task.fileLength) throw new SchedulerRefused(200, `the pieces named did not make the whole blob (${status.status})`)
    await client.call('GET', `/peer/task?taskId=${taskId}&srcCid=${encodeURIComponent(cid)}&status=FINISHED&result=SUCCESS`, undefined, signal)
    // An abort while lingering only cuts the lingering short: the file is here.
    if ((options.lingerMs ?? 0) > 0) await delay(options.lingerMs, undefined, signal === undefined ? {} : { signal }).catch(() => {})
    return { taskId, hash, size: task.fileLength, sources }
  } finally {
    ended = true
    clearInterval(heartbeat)
    await client.call('GET', `/peer/service/down?taskId=${taskId}&cid=${encodeURIComponent(cid)}`).catch(err => {
      if (!(err instanceof SchedulerRefused && err.status === 404)) log.error('service/down: %e', err)
    })
  }
}
