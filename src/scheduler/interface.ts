/**
 * The scheduler's model, as the Dragonfly SuperNode API names it (docs/scheduler.md): peers
 * (machines that hold and serve pieces), tasks (one URL's file, named by its task id), pieces
 * (group-aligned byte ranges of the task's blob) and who holds which, preheats (a seed told to
 * import a URL ahead of the requests). Types only; the records are what LevelDB keeps.
 */

/** A registered peer: PeerInfo, plus what the scheduler needs to hand it out. */
export interface PeerRecord {
  ID: string
  IP: string
  hostName: string
  port: number
  version: string
  /** ISO date-time of the first registration. */
  created: string
  /** The verity node behind it: `peerId`, `addrs` (space-separated multiaddrs), `seed` ('true' for a seed peer). */
  extra: Record<string, string>
  /** Its schedule weight: work it reports (heartbeat `load`); more load, fewer pieces handed out with it. */
  load: number
  /** Standing: 1 when trusted; each failed or corrupt piece from it lowers it, each verified one raises it again. */
  standing: number
  /** Last heartbeat or registration (ms since the epoch); a peer silent for `peerExpiryMs` is dropped. */
  lastSeen: number
}

export type CdnStatus = 'WAITING' | 'RUNNING' | 'FAILED' | 'SUCCESS' | 'SOURCE_ERROR'

/** A task: TaskInfo, plus the blob's hash once the seed (or the creator) named it. */
export interface TaskRecord {
  ID: string
  rawURL: string
  taskURL: string
  /** Bytes of the file; -1 until known. */
  fileLength: number
  httpFileLength: number
  pieceSize: number
  pieceTotal: number
  cdnStatus: CdnStatus
  /** 64 hex digits: the BLAKE3 root every piece is verified against; '' until known. */
  hash: string
  identifier: string
  filter: string[]
  md5: string
  asSeed: boolean
  /** Why cdnStatus is FAILED or SOURCE_ERROR. */
  error?: string
  created: number
}

export type PreheatState = 'WAITING' | 'RUNNING' | 'SUCCESS' | 'FAILED'

export interface PreheatRecord {
  ID: string
  type: 'image' | 'file'
  url: string
  filter: string[]
  identifier: string
  status: PreheatState
  /** The task it made (the same id for the same URL, filter and identifier). */
  taskId: string
  startTime?: string
  finishTime?: string
  errorMsg?: string
  created: number
}

/** What a peer's client (a `cID`) is: which peer, downloading which task. */
export interface ClientRecord {
  cid: string
  peerId: string
  taskId: string
}

/** One piece handed to a requester: which piece, from which peer. */
export interface Assignment {
  piece: number
  source: string
}

/** What a seed peer answers for a URL once it has imported it. */
export interface SeedImport {
  hash: string
  size: number
}

/**
 * How the scheduler has a seed import a URL (for a preheat, or a task nobody holds yet): the
 * CLI's runs `node.seeds.request` against a `--seed`; tests give their own.
 */
export type SeedImporter = (seed: { peerId: string, addrs: string[] }, url: string, options: { filter: string[], tag?: string, headers: Record<string, string>, signal: AbortSignal }) => Promise<SeedImport>

export interface SchedulerLimits {
  /** Bytes of a request body; more is 413 before it is read. @default 65536 */
  maxBodyBytes: number
  /** Peers registered at once; more registrations are 429. @default 10000 */
  maxPeers: number
  /** Tasks at once; more are 429. @default 10000 */
  maxTasks: number
  /** Preheats kept; more are 429 (finished ones go first). @default 1000 */
  maxPreheats: number
  /** Largest `pageSize` of a list, and most pieces handed out in one answer (`num`). @default 1000, 64 */
  maxPageSize: number
  maxPiecesPerAnswer: number
  /** Pieces one task may have (a larger file needs a larger piece size). @default 65536 */
  maxPieceTotal: number
}

export interface SchedulerInit {
  /** Where the LevelDB lives (`<data dir>/scheduler`); none: in memory only. */
  location?: string
  /** Peers silent this long are dropped with their pieces. @default 120000 */
  peerExpiryMs?: number
  /** How often expiry is checked. @default 5000 */
  sweepMs?: number
  /** A piece handed out and not reported within this long may be handed out again. @default 60000 */
  assignmentTimeoutMs?: number
  /** Finished preheats are kept this long. @default 24 h */
  preheatKeepMs?: number
  /** While this many peers are fetching a piece that no other peer holds yet, the seed is not handed out for it (they will be its sources). @default 1 */
  seedCopies?: number
  /** Seed peers known from the start (`--seed`): their node's peer id and addresses. */
  seeds?: Array<{ peerId: string, addrs: string[] }>
  importer?: SeedImporter
  limits?: Partial<SchedulerLimits>
  /** Shown by GET /version. */
  version?: string
}
