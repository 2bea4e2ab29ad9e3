import { BadParameter, UnknownRecord } from './errors.js'
import { pageOf } from './paging.js'
import type { Scheduler } from './scheduler.js'
import type { Route, RouteRequest } from './route.js'
import { HASH, ID, outcomeOf, PIECE_STATUS, PORT, creation } from './route-fields.js'
import { pieceOf } from './tasks.js'
import { BodyFields, parsePieceRange } from './validate.js'
import { peerInfo, pieceInfos, preheatInfo, taskInfo } from './views.js'

/** The `/api/v1` routes of seed 004: peers, preheats, tasks and their pieces. */

const SORTABLE = ['ID', 'IP', 'hostName', 'port', 'version', 'created'] as const

const task = (scheduler: Scheduler, request: RouteRequest) => scheduler.tasks.get(request.params[0] as string)

export const apiRoutes: Route[] = [
  {
    method: 'POST',
    path: '/api/v1/peers',
    handle: async (scheduler, request) => {
      const body = new BodyFields(await request.body())
      const IP = body.ipv4('IP', { required: true }) as string
      const hostName = body.hostname('hostName', { required: true }) as string
      const port = body.int('port', PORT)
      const version = body.string('version', { max: 256 })
      const extra = body.map('extra')
      const peer = await scheduler.peers.register({ IP, hostName, ...(port === undefined ? {} : { port }), ...(version === undefined ? {} : { version }), ...(extra === undefined ? {} : { extra }) })
      return { status: 201, json: { ID: peer.ID } }
    }
  },
  {
    method: 'GET',
    path: '/api/v1/peers',
    handle: async (scheduler, { query }) => {
      const pageNum = query.int('pageNum', { min: 0, max: 1e9 }) ?? 0
      const pageSize = query.int('pageSize', { required: true, min: 1, max: scheduler.ctx.limits.maxPageSize }) as number
      const sortDirect = query.oneOf('sortDirect', ['ASC', 'DESC'] as const) ?? 'ASC'
      const sortKey = query.strings('sortKey')
      const views = [...scheduler.ctx.state.peers.values()].map(peerInfo)
      return { status: 200, json: pageOf(views, { pageNum, pageSize, sortKey, sortDirect }, SORTABLE, 'ID') }
    }
  },
  { method: 'GET', path: '/api/v1/peers/{id}', handle: async (scheduler, { params }) => ({ status: 200, json: peerInfo(scheduler.peers.get(params[0] as string)) }) },
  {
    method: 'DELETE',
    path: '/api/v1/peers/{id}',
    handle: async (scheduler, { params }) => {
      await scheduler.peers.remove(params[0] as string, 'deleted')
      return { status: 204 }
    }
  },
  {
    method: 'POST',
    path: '/api/v1/preheats',
    handle: async (scheduler, request) => {
      const body = new BodyFields(await request.body())
      const type = body.oneOf('type', ['image', 'file'] as const, { required: true }) as 'image' | 'file'
      const url = body.string('url', { required: true, min: 3 })
      const filter = (body.string('filter') ?? '').split(',').filter(name => name !== '')
      const headers = body.map('headers')
      const identifier = body.string('identifier', { max: 256 })
      const preheat = await scheduler.preheats.create({ type, url, filter, ...(headers === undefined ? {} : { headers }), ...(identifier === undefined ? {} : { identifier }) })
      return { status: 200, json: { ID: preheat.ID } }
    }
  },
  { method: 'GET', path: '/api/v1/preheats', handle: async scheduler => ({ status: 200, json: (await scheduler.preheats.list()).map(preheatInfo) }) },
  { method: 'GET', path: '/api/v1/preheats/{id}', handle: async (scheduler, { params }) => ({ status: 200, json: preheatInfo(scheduler.preheats.get(params[0] as string)) }) },
  {
    method: 'DELETE',
    path: '/api/v1/preheats/{id}',
    handle: async (scheduler, { params }) => {
      await scheduler.preheats.remove(params[0] as string)
      return { status: 200 }
    }
  },
  {
    method: 'POST',
    path: '/api/v1/tasks',
    handle: async (scheduler, request) => {
      const body = new BodyFields(await request.body())
      const rawURL = body.string('rawURL') ?? body.string('taskURL')
      if (rawURL === undefined) throw new BadParameter('rawURL', 'is required (or taskURL)')
      const peerID = body.string('peerID', ID)
      const cID = body.string('cID', ID)
      const hash = body.string('hash')
      if (hash !== undefined && !HASH.test(hash)) throw new BadParameter('hash', 'must be 64 lower-case hex digits (a BLAKE3 hash)')
      body.string('callSystem', { min: 1 }); body.bool('dfdaemon'); body.string('path'); body.string('supernodeIP')
      const creator = peerID === undefined ? undefined : scheduler.ctx.state.peers.get(peerID)
      if (peerID !== undefined && creator === undefined) throw new BadParameter('peerID', `${peerID.slice(0, 80)} is not a registered peer`)
      const headers = body.map('headers')
      const made = await scheduler.tasks.create(creation(body, rawURL, { hash, creator, headers }))
      if (cID !== undefined && creator !== undefined) await scheduler.peers.addClient({ cid: cID, peerId: creator.ID, taskId: made.ID })
      return { status: 201, json: { ID: made.ID, fileLength: made.fileLength, pieceSize: made.pieceSize, cdnSource: 'supernode' } }
    }
  },
  { method: 'GET', path: '/api/v1/tasks/{id}', handle: async (scheduler, request) => ({ status: 200, json: taskInfo(task(scheduler, request)) }) },
  {
    method: 'PUT',
    path: '/api/v1/tasks/{id}',
    handle: async (scheduler, request) => {
      const found = task(scheduler, request)
      const peerID = new BodyFields(await request.body()).string('peerID', { ...ID, required: true })
      await scheduler.pieces.holdAll(found, scheduler.peers.get(peerID).ID)
      return { status: 200 }
    }
  },
  {
    method: 'DELETE',
    path: '/api/v1/tasks/{id}',
    handle: async (scheduler, request) => {
      request.query.bool('full') // the seed's copy is the seed's: nothing else to delete here
      await scheduler.tasks.remove(task(scheduler, request).ID)
      return { status: 204 }
    }
  },
  {
    method: 'GET',
    path: '/api/v1/tasks/{id}/pieces',
    handle: async (scheduler, request) => {
      const found = task(scheduler, request)
      const { query } = request
      const requester = scheduler.peers.peerOfClient(query.string('clientID', { ...ID, required: true }))
      const num = Math.min(query.int('num', { min: 1 }) ?? 4, scheduler.ctx.limits.maxPiecesPerAnswer)
      const body = new BodyFields(await request.body())
      body.oneOf('dfgetTaskStatus', ['STARTED', 'RUNNING', 'FINISHED'] as const)
      const range = body.string('pieceRange', { max: 40 })
      const result = body.oneOf('pieceResult', PIECE_STATUS)
      const source = body.string('dstPID', ID)
      if (range !== undefined && result !== undefined) {
        await scheduler.pieces.report(found, pieceOf(found, parsePieceRange('pieceRange', range), 'pieceRange'), requester.ID, source, outcomeOf(result))
      }
      return { status: 200, json: pieceInfos(found, scheduler.pieces.plan(found, requester.ID, num), scheduler.ctx.state.peers) }
    }
  },
  {
    method: 'PUT',
    path: '/api/v1/tasks/{id}/pieces/{pieceRange}',
    handle: async (scheduler, request) => {
      const found = task(scheduler, request)
      const piece = pieceOf(found, parsePieceRange('pieceRange', request.params[1] as string), 'pieceRange')
      const body = new BodyFields(await request.body())
      const downloader = scheduler.peers.peerOfClient(body.string('clientID', { ...ID, required: true }))
      const source = body.string('dstPID', ID)
      const status = body.oneOf('pieceStatus', PIECE_STATUS) ?? 'SUCCESS'
      await scheduler.pieces.report(found, piece, downloader.ID, source, outcomeOf(status))
      return { status: 200 }
    }
  },
  {
    method: 'POST',
    path: '/api/v1/tasks/{id}/pieces/{pieceRange}/error',
    handle: async (scheduler, request) => {
      const found = task(scheduler, request)
      const piece = pieceOf(found, parsePieceRange('pieceRange', request.params[1] as string), 'pieceRange')
      const body = new BodyFields(await request.body())
      const downloader = scheduler.peers.peerOfClient(body.string('srcCid', { ...ID, required: true }))
      const source = body.string('dstPid', { ...ID, required: true })
      const kind = body.oneOf('errorType', ['FILE_NOT_EXIST', 'FILE_MD5_NOT_MATCH'] as const)
      body.string('dstIP'); body.string('range'); body.string('taskId'); body.string('realMd5'); body.string('expectedMd5')
      // Recorded even when the source has gone meanwhile (left, expired): the piece is no longer
      // on its way to the downloader, which may be handed it again at once.
      await scheduler.pieces.report(found, piece, downloader.ID, source, kind === 'FILE_NOT_EXIST' ? 'failed' : 'corrupt')
      if (!scheduler.ctx.state.peers.has(source)) throw new UnknownRecord('peer', source)
      return { status: 200 }
    }
  }
]
