import { arch, platform, version as nodeVersion } from 'node:process'
import { taskUrlOf } from '../origin/task-id.js'
import { BadParameter } from './errors.js'
import type { TaskRecord } from './interface.js'
import { creation, HASH, ID, outcomeOf, PIECE_STATUS, PORT } from './route-fields.js'
import type { Scheduler } from './scheduler.js'
import type { Route } from './route.js'
import { pieceOf } from './tasks.js'
import { BodyFields, parsePieceRange } from './validate.js'
import { peerInfo, pieceInfo, pieceInfos, RESULT, resultInfo, taskInfo } from './views.js'

/** PieceInfos in one answer to POST /peer/network at most (about 3 MB of JSON): the answer stops there. */
export const MAX_NETWORK_PIECES = 10000

/** Pieces handed out by one GET /peer/task (the API has no `num` there). */
export const PEER_TASK_PIECES = 4

/** The routes of seed 004 outside `/api/v1`: ping, version, metrics, and dfget's `/peer` and `/task` calls. */

/** A client id or peer id as the peer it names ("the uploader cid" may be either). */
const peerIdOf = (scheduler: Scheduler, cid: string): string => scheduler.ctx.state.clients.get(cid)?.peerId ?? cid

/** Headers as TaskRegisterRequest gives them: a list of `Name: value`. */
function headerList (list: string[] | undefined): Record<string, string> | undefined {
  if (list === undefined) return undefined
  const out: Record<string, string> = {}
  for (const [i, line] of list.entries()) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new BadParameter(`headers[${i}]`, 'must be "Name: value"')
    out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return out
}

function matches (task: TaskRecord, urls: string[]): boolean {
  return urls.some(url => {
    if (url === task.taskURL || url === task.rawURL) return true
    try { return taskUrlOf(url, task.filter) === task.taskURL } catch { return false }
  })
}

export const peerRoutes: Route[] = [
  { method: 'GET', path: '/_ping', handle: async () => ({ status: 200, json: 'OK' }) },
  {
    method: 'GET',
    path: '/version',
    handle: async scheduler => ({ status: 200, json: { Arch: arch, BuildDate: '', GoVersion: nodeVersion, OS: platform, Revision: '', Version: scheduler.version } })
  },
  { method: 'GET', path: '/metrics', handle: async scheduler => ({ status: 200, text: await scheduler.metrics.text(), contentType: scheduler.metrics.contentType }) },
  {
    method: 'POST',
    path: '/peer/heartbeat',
    handle: async (scheduler, request) => {
      const body = new BodyFields(await request.body())
      const IP = body.ipv4('IP')
      const cid = body.string('cID', ID)
      const port = body.int('port', PORT)
      const load = body.int('load', { min: 0, max: 1e9 })
      const peer = await scheduler.peers.heartbeat({ ...(cid === undefined ? {} : { cid }), ...(IP === undefined ? {} : { IP }), ...(port === undefined ? {} : { port }) }, load)
      const seedTaskIDs = peer === undefined || peer.extra.seed !== 'true'
        ? []
        : [...scheduler.ctx.state.tasks.values()].filter(task => scheduler.pieces.holdsAll(task, peer.ID)).map(task => task.ID)
      return { status: 200, json: { needRegister: peer === undefined, seedTaskIDs, version: scheduler.boot } }
    }
  },
  {
    method: 'POST',
    path: '/peer/network',
    handle: async (scheduler, request) => {
      const urls = new BodyFields(await request.body()).strings('urls')
      const { state, limits } = scheduler.ctx
      // Only the holders of the tasks asked about are visited: the work follows what is answered.
      const byPeer = new Map<string, Array<{ task: TaskRecord, pieces: number[] }>>()
      // Tasks by id and nodes by peer id: the same answer whatever order records were made or loaded in.
      for (const task of [...state.tasks.values()].sort((a, b) => a.ID < b.ID ? -1 : 1)) {
        if (urls !== undefined && !matches(task, urls)) continue
        const holdings = state.holdings.get(task.ID)
        for (const peer of holdings?.peers() ?? []) {
          const pieces = [...(holdings?.piecesOf(peer) ?? [])].sort((a, b) => a - b)
          if (pieces.length > 0) byPeer.set(peer, [...(byPeer.get(peer) ?? []), { task, pieces }])
        }
      }
      const nodes = []
      let room = MAX_NETWORK_PIECES
      for (const [id, held] of [...byPeer].sort(([a], [b]) => a < b ? -1 : 1)) {
        const peer = state.peers.get(id)
        if (peer === undefined) continue
        if (nodes.length >= limits.maxPageSize || room <= 0) break
        const tasks = []
        for (const { task, pieces } of held) {
          if (room <= 0) break
          const shown = pieces.slice(0, room)
          room -= shown.length
          tasks.push({ task: taskInfo(task), pieces: shown.map(piece => pieceInfo(task, piece, peer)) })
        }
        nodes.push({ basic: peerInfo(peer), extra: peer.extra, load: peer.load, tasks })
      }
      return { status: 200, json: { nodes } }
    }
  },
  {
    method: 'GET',
    path: '/peer/piece/suc',
    handle: async (scheduler, { query }) => {
      const found = scheduler.tasks.get(query.string('taskId', { ...ID, required: true }))
      const downloader = scheduler.peers.peerOfClient(query.string('cid', { ...ID, required: true }))
      const piece = pieceOf(found, parsePieceRange('pieceRange', query.string('pieceRange', { required: true, max: 40 })), 'pieceRange')
      const source = query.string('dstCid', ID)
      await scheduler.pieces.report(found, piece, downloader.ID, source === undefined ? undefined : peerIdOf(scheduler, source), 'good')
      return { status: 200, json: resultInfo(RESULT.success, 'success') }
    }
  },
  {
    method: 'POST',
    path: '/peer/registry',
    handle: async (scheduler, request) => {
      const body = new BodyFields(await request.body())
      const IP = body.ipv4('IP', { required: true }) as string
      const hostName = body.hostname('hostName', { required: true }) as string
      const port = body.int('port', PORT)
      const cid = body.string('cID', { ...ID, required: true })
      const rawURL = body.string('rawURL') ?? body.string('taskURL')
      if (rawURL === undefined) throw new BadParameter('rawURL', 'is required (or taskURL)')
      const version = body.string('version', { max: 256 })
      const extra = body.map('extra')
      const hash = body.string('hash')
      if (hash !== undefined && !HASH.test(hash)) throw new BadParameter('hash', 'must be 64 lower-case hex digits (a BLAKE3 hash)')
      const headers = headerList(body.strings('headers'))
      const asSeed = body.bool('asSeed')
      body.string('superNodeIp'); body.string('path'); body.string('callSystem', { min: 1 }); body.bool('dfdaemon'); body.bool('insecure'); body.strings('rootCAs')
      const made = creation(body, rawURL, { hash, headers, asSeed })
      const peer = await scheduler.peers.register({ IP, hostName, ...(port === undefined ? {} : { port }), ...(version === undefined ? {} : { version }), ...(extra === undefined ? {} : { extra }) })
      const task = await scheduler.tasks.create({ ...made, creator: peer })
      await scheduler.peers.addClient({ cid, peerId: peer.ID, taskId: task.ID })
      return { status: 200, json: resultInfo(RESULT.success, 'success', { taskId: task.ID, fileLength: task.fileLength, pieceSize: task.pieceSize, cdnSource: 'supernode', peerId: peer.ID }) }
    }
  },
  {
    method: 'GET',
    path: '/peer/service/down',
    handle: async (scheduler, { query }) => {
      scheduler.tasks.get(query.string('taskId', { ...ID, required: true }))
      const peer = scheduler.peers.peerOfClient(query.string('cid', { ...ID, required: true }))
      await scheduler.peers.remove(peer.ID, 'service down')
      return { status: 200, json: resultInfo(RESULT.success, 'success') }
    }
  },
  {
    method: 'GET',
    path: '/peer/task',
    handle: async (scheduler, { query }) => {
      const found = scheduler.tasks.get(query.string('taskId', { ...ID, required: true }))
      const requester = scheduler.peers.peerOfClient(query.string('srcCid', { ...ID, required: true }))
      const status = query.oneOf('status', ['STARTED', 'RUNNING', 'FINISHED'] as const)
      const range = query.string('range', { max: 40 })
      const result = query.oneOf('result', PIECE_STATUS)
      const dst = query.string('dstCid', ID)
      if (range !== undefined && result !== undefined && found.pieceTotal > 0) {
        const piece = pieceOf(found, parsePieceRange('range', range), 'range')
        await scheduler.pieces.report(found, piece, requester.ID, dst === undefined ? undefined : peerIdOf(scheduler, dst), outcomeOf(result))
      }
      if (status === 'FINISHED') {
        if (result === 'SUCCESS' && found.cdnStatus === 'SUCCESS') await scheduler.pieces.holdAll(found, requester.ID)
        return { status: 200, json: resultInfo(RESULT.finish, 'finished') }
      }
      if (found.cdnStatus === 'FAILED' || found.cdnStatus === 'SOURCE_ERROR') {
        return { status: 200, json: resultInfo(RESULT.sourceError, found.error ?? found.cdnStatus) }
      }
      const plan = scheduler.pieces.plan(found, requester.ID, PEER_TASK_PIECES)
      if (plan.length > 0) return { status: 200, json: resultInfo(RESULT.continue, 'continue', pieceInfos(found, plan, scheduler.ctx.state.peers)) }
      if (scheduler.pieces.holdsAll(found, requester.ID)) return { status: 200, json: resultInfo(RESULT.finish, 'finished') }
      return { status: 200, json: resultInfo(RESULT.wait, 'wait') }
    }
  },
  {
    method: 'POST',
    path: '/task/metrics',
    handle: async (scheduler, request) => {
      const body = new BodyFields(await request.body())
      body.ipv4('IP'); body.string('backsourceReason'); body.string('cID', ID); body.string('callSystem', { min: 1 })
      body.number('duration', { min: 0 }); body.int('fileLength', { min: 0 }); body.int('port', PORT); body.string('taskId', ID)
      scheduler.metrics.download(body.bool('success') ?? false)
      return { status: 200, json: resultInfo(RESULT.success, 'success') }
    }
  }
]
