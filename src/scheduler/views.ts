import { safeUrlOf } from '../origin/safe-url.js'
import type { Assignment, PeerRecord, PreheatRecord, TaskRecord } from './interface.js'
import { rangeOf } from './tasks.js'

/**
 * Records as the API's schemas show them. Extensions to the schemas, for verity's peers: `extra`
 * on PeerInfo and PieceInfo (the source's verity node: `peerId`, `addrs`), `hash` on TaskInfo,
 * `errorMsg` on PreheatInfo. URLs are shown without credentials or filtered query parameters;
 * a task's headers are never shown.
 */

export function peerInfo (peer: PeerRecord): Record<string, unknown> {
  return { ID: peer.ID, IP: peer.IP, hostName: peer.hostName, port: peer.port, version: peer.version, created: peer.created, extra: peer.extra }
}

export function taskInfo (task: TaskRecord): Record<string, unknown> {
  return {
    ID: task.ID,
    asSeed: task.asSeed,
    cdnStatus: task.cdnStatus,
    fileLength: task.fileLength,
    httpFileLength: task.httpFileLength,
    identifier: task.identifier,
    md5: task.md5,
    pieceSize: task.pieceSize,
    pieceTotal: task.pieceTotal,
    rawURL: safeUrlOf(task.rawURL, task.filter),
    realMd5: '',
    taskURL: safeUrlOf(task.taskURL, task.filter),
    hash: task.hash
  }
}

/** A piece to fetch from `source`: PieceInfo, its path the source's gateway path for the blob. */
export function pieceInfo (task: TaskRecord, piece: number, source: PeerRecord): Record<string, unknown> {
  return {
    pID: source.ID,
    path: `/blob/${task.hash}`,
    peerIP: source.IP,
    peerPort: source.port,
    pieceRange: rangeOf(task, piece),
    pieceSize: task.pieceSize,
    extra: source.extra
  }
}

export function pieceInfos (task: TaskRecord, plan: Assignment[], peers: ReadonlyMap<string, PeerRecord>): Array<Record<string, unknown>> {
  return plan.flatMap(({ piece, source }) => {
    const peer = peers.get(source)
    return peer === undefined ? [] : [pieceInfo(task, piece, peer)]
  })
}

export function preheatInfo (preheat: PreheatRecord): Record<string, unknown> {
  return {
    ID: preheat.ID,
    status: preheat.status,
    startTime: preheat.startTime ?? '',
    finishTime: preheat.finishTime ?? '',
    errorMsg: preheat.errorMsg ?? ''
  }
}

/** ResultInfo: `code` (200 success; 600 finished, 601 continue, 602 wait, 604 source error for GET /peer/task), `msg`, `data`. */
export const RESULT = { success: 200, finish: 600, continue: 601, wait: 602, sourceError: 604 } as const

export function resultInfo (code: number, msg: string, data?: unknown): Record<string, unknown> {
  return data === undefined ? { code, msg } : { code, msg, data }
}
