import type { SchedulerContext } from './context.js'
import { UnknownRecord, SchedulerFull } from './errors.js'
import type { ClientRecord, PeerRecord } from './interface.js'
import { del, keys, put } from './state.js'

/** What a peer registers with (PeerCreateRequest, plus the verity node behind it in `extra`). */
export interface PeerRegistration {
  IP: string
  hostName: string
  port?: number
  version?: string
  extra?: Record<string, string>
}

/** The lowest standing a peer can fall to: it is still handed out when nobody else holds a piece. */
export const MIN_STANDING = 0.05

/**
 * A peer's id, as the API says, "generated via host's hostname and IP address": `<hostName>-<IP>`,
 * and `-<port>` when it gives its uploader's port, so two nodes on one host are two peers.
 */
export function peerIdOf (registration: Pick<PeerRegistration, 'IP' | 'hostName' | 'port'>): string {
  return `${registration.hostName}-${registration.IP}${registration.port === undefined ? '' : `-${registration.port}`}`
}

/**
 * Peers and their clients (a `cID` is one download on one peer): registration (again: the same
 * id, refreshed), heartbeats, load and standing, and leaving (deleted, `service/down`, or silent
 * past `peerExpiryMs`) with every piece it held.
 */
export class Peers {
  constructor (private readonly ctx: SchedulerContext) {}

  /** Registers (or refreshes) a peer; `id` for one named otherwise than by peerIdOf (a seed given at start). */
  async register (registration: PeerRegistration, options: { id?: string, now?: number } = {}): Promise<PeerRecord> {
    const { state, limits } = this.ctx
    const now = options.now ?? Date.now()
    const ID = options.id ?? peerIdOf(registration)
    const known = state.peers.get(ID)
    if (known === undefined && state.peers.size >= limits.maxPeers) throw new SchedulerFull('peers', limits.maxPeers)
    const peer: PeerRecord = {
      ID,
      IP: registration.IP,
      hostName: registration.hostName,
      port: registration.port ?? 0,
      version: registration.version ?? known?.version ?? '',
      created: known?.created ?? new Date(now).toISOString(),
      extra: { ...(registration.extra ?? known?.extra ?? {}) },
      load: known?.load ?? 0,
      standing: known?.standing ?? 1,
      lastSeen: now
    }
    state.peers.set(ID, peer)
    await state.write([put(keys.peer(ID), peer)])
    return peer
  }

  get (id: string): PeerRecord {
    const peer = this.ctx.state.peers.get(id)
    if (peer === undefined) throw new UnknownRecord('peer', id)
    return peer
  }

  /** The peer a client id names: a registered client's peer, or a peer id given as the client id. */
  peerOfClient (cid: string): PeerRecord {
    const client = this.ctx.state.clients.get(cid)
    const peer = this.ctx.state.peers.get(client?.peerId ?? cid)
    if (peer === undefined) throw new UnknownRecord('client', cid)
    return peer
  }

  async addClient (client: ClientRecord): Promise<void> {
    this.ctx.state.clients.set(client.cid, client)
    await this.ctx.state.write([put(keys.client(client.cid), client)])
  }

  /**
   * A heartbeat from the peer a client id or an address names: it is alive, with this load.
   * Undefined when the scheduler does not know it (it should register).
   */
  async heartbeat (who: { cid?: string, IP?: string, port?: number }, load: number | undefined, now = Date.now()): Promise<PeerRecord | undefined> {
    const { state } = this.ctx
    let peer = who.cid === undefined ? undefined : state.peers.get(state.clients.get(who.cid)?.peerId ?? who.cid)
    if (peer === undefined && who.IP !== undefined) {
      for (const candidate of state.peers.values()) {
        if (candidate.IP === who.IP && (who.port === undefined || candidate.port === who.port)) { peer = candidate; break }
      }
    }
    if (peer === undefined) return undefined
    peer.lastSeen = now
    if (load !== undefined) peer.load = load
    await state.write([put(keys.peer(peer.ID), peer)])
    return peer
  }

  /** A piece from `id` was good (+0.1) or bad (halved for a corrupt one, x0.8 for a failure). */
  async judge (id: string, outcome: 'good' | 'failed' | 'corrupt'): Promise<void> {
    const peer = this.ctx.state.peers.get(id)
    if (peer === undefined) return
    const before = peer.standing
    peer.standing = outcome === 'good' ? Math.min(1, before + 0.1) : Math.max(MIN_STANDING, before * (outcome === 'corrupt' ? 0.5 : 0.8))
    if (peer.standing !== before) await this.ctx.state.write([put(keys.peer(id), peer)])
  }

  /** The peer gone, with its clients, the pieces it held and its bans. */
  async remove (id: string, why: string): Promise<void> {
    const { state } = this.ctx
    if (!state.peers.has(id)) throw new UnknownRecord('peer', id)
    state.peers.delete(id)
    const ops = [del(keys.peer(id))]
    for (const [cid, client] of state.clients) {
      if (client.peerId === id) { state.clients.delete(cid); ops.push(del(keys.client(cid))) }
    }
    for (const [task, holders] of state.holdings) {
      if (holders.removePeer(id)) ops.push(del(keys.holding(task, id)))
    }
    for (const [task, pieces] of state.bans) {
      for (const [piece, peers] of pieces) if (peers.delete(id)) ops.push(del(keys.ban(task, piece, id)))
    }
    this.ctx.log('peer %s dropped (%s)', id, why)
    await state.write(ops)
  }

  /** Peers silent for longer than peerExpiryMs (seeds known from --seed never expire). */
  async expire (now = Date.now()): Promise<string[]> {
    const gone: string[] = []
    for (const peer of this.ctx.state.peers.values()) {
      if (peer.extra.pinned !== 'true' && now - peer.lastSeen > this.ctx.settings.peerExpiryMs) gone.push(peer.ID)
    }
    for (const id of gone) await this.remove(id, 'no heartbeat')
    return gone
  }
}
