/**
 * verity's public API. Bytes are Uint8Array; errors are named classes, checked by `err.name`.
 */
// First: on Node 20, libp2p and its transports need Promise.withResolvers (Node 22).
import './node/polyfill.js'
export {
  BLOCK_LEN, CHUNK_SIZE, EMPTY_HASH_HEX, GROUP_CHUNKS, GROUP_LOG, GROUP_SIZE, HASH_SIZE, MAX_SIZE,
  PAIR_SIZE, SIZE_HEADER
} from '../store/bao/constants.js'
export type { Blake3Core } from '../store/bao/interface.js'
export { NativeCore } from '../store/bao/native-core.js'
export { WasmCore } from '../store/bao/wasm-core.js'
export { PortableCore } from '../store/bao/portable-core.js'
export { defaultCore, setDefaultCore } from '../store/bao/core.js'
export { blake3 } from '../store/bao/hash.js'
export { BaoTree } from '../store/bao/tree.js'
export { OutboardBuilder, computeOutboard, type HashedBlob, type OutboardOptions } from '../store/bao/outboard.js'
export { encodeRanges, type EncodeOptions } from '../store/bao/encode.js'
export { decodeRanges, type DecodedItem, type DecodeOptions } from '../store/bao/decode.js'
export { ByteReader } from '../store/bao/byte-reader.js'
export { bytesAccess, type RandomAccess } from '../store/bao/random-access.js'
export {
  InvalidSize, LeafHashMismatch, ParentHashMismatch, TrailingData, UnexpectedEnd
} from '../store/bao/errors.js'
export { ChunkRanges, MAX_CHUNK } from '../store/ranges/chunk-ranges.js'
export {
  RangeSpecSeq, decodeRangeSpec, decodeRangeSpecSeq, encodeRangeSpec, encodeRangeSpecSeq
} from '../protocol/range-spec.js'
export { MalformedMessage } from '../protocol/errors.js'
export { MissingRange } from '../store/bao/errors.js'
export { walkValidated, type LocalBlob, type WalkItem } from '../store/bao/validated-walk.js'
export { preOrderPairs, type PairSource } from '../store/bao/pair-source.js'
export { MemStore } from '../store/mem-store.js'
export { FsStore } from '../store/fs-store.js'
export { NotFound, UnsafeName, DuplicateName, InvalidHashSeq, StoreClosed, StoreLocked } from '../store/errors.js'
export { toHex, fromHex } from '../store/hash-text.js'
export { encodeHashSeq, decodeHashSeq, encodeCollectionMeta, decodeCollectionMeta, safeName, uniqueNames } from '../store/collection.js'
export type {
  AddFileOptions, AddHandle, AddOptions, AddProgress, AddResult, BatchOptions, Bitfield, BlobFormat, BlobStatus, BlobStore,
  CollectionEntry, GcOptions, GcResult, HashAndFormat, ImportResult, ReadOptions, Tags, TempTag
} from '../store/interface.js'
export { tuneHeap, HEAP_GROWING_PERCENT, MAX_HEAP_GROWING_PERCENT } from './node/heap.js'
export { createNode, DEFAULT_LISTEN, type NodeOptions, type NodeLimits, type VerityNode } from './node/create-node.js'
export { TransportInternalsChanged, UnexpectedTransportVersion } from './net/transport-fixes/errors.js'
export { BlobsService, blobsService, type BlobsServiceInit } from './node/blobs-service.js'
export { InvalidPeer, type PeerTarget } from './net/peer.js'
export { Downloader, DownloadHandle } from './downloader/downloader.js'
export { DownloadFailed } from './downloader/errors.js'
export type { DownloaderOptions, DownloadOptions, DownloadProgress, DownloadRequest, DownloadResult, FailureReason, GetManyRequest, ProviderReport, Providers, Strategy } from './downloader/interface.js'
export { Remote, type Content, type FetchOptions, type FetchProgress, type FetchResult, type LocalInfo } from './remote.js'
export { ConnectionPool, PoolClosed, TooManyConnections, type PoolOptions, type PoolStats } from './net/pool.js'
export { BlobTicket, InvalidTicket, type SocketAddr } from './ticket.js'
export { createGateway, BODY_STALL_MS, type GatewayInit, type GatewayOptions, type RequestHandler } from './http/gateway.js'
export { GatewayMetrics } from './http/metrics.js'
export { BAO_TYPE } from './http/answer.js'
export { InvalidPath, PathTooLong } from './http/errors.js'
export { IROH_PROTOCOL, VERITY_PROTOCOL } from '../protocol/constants.js'
export { Aborted, Internal, Permission, RateLimited, Timeout } from '../protocol/errors.js'
export { Status } from '../protocol/status.js'
export { Provider, type ProviderInit } from '../protocol/provider/provider.js'
export { scopeOf } from '../protocol/provider/scope.js'
export type { Access, ProviderEvent, ProviderPolicy, RequestContext, ServedStore, TransferStats } from '../protocol/interface.js'
export { encodeRequest, decodeRequest, type GetRequest, type ObserveItem, type Request } from '../protocol/request.js'
export {
  AtBlobContent, AtBlobHeader, AtClosing, AtConnected, AtEndBlob, AtInitial, AtStartChild, type GetStats
} from '../protocol/get/machine.js'
export { runToStore, type ImportStats } from '../protocol/get/import.js'
export { Origins, OriginImportHandle, type OriginsInit, type OriginsComponents } from './origin/origins.js'
export type {
  AddressPolicy, ByteRange, DirectoryEntry, DirectoryHead, FileHead, GetOptions, HeadOptions, HeadResult, OriginImportOptions, OriginImportProgress, OriginImportResult,
  NotModified, OriginBackend, PreheatItem, PreheatOptions, PreheatState, PreheatStatus, TaskOptions, TaskRecord, Validators
} from './origin/interface.js'
export { PREHEAT_KEEP_MS, type PreheatLimits } from './origin/preheat.js'
export {
  DuplicateScheme, OriginBadResponse, OriginChanged, OriginDenied, OriginError, OriginForbiddenAddress, OriginNotFound, OriginRangeIgnored,
  OriginTimeout, OriginUnavailable, PluginLoadFailed, UnsupportedScheme, type OriginErrorOptions
} from './origin/errors.js'
export { taskIdOf, taskUrlOf } from './origin/task-id.js'
export { safeUrlOf } from './origin/safe-url.js'
export { addressKind, isPublicAddress, type AddressKind } from './origin/addresses.js'
export { defaultPieceSize } from './origin/pieces.js'
export { fileBackend } from './origin/backends/file.js'
export { httpBackend, type HttpBackendOptions } from './origin/backends/http.js'
export { DEFAULT_RETRY, type RetryPolicy } from './origin/backends/retry.js'
export type { PluginReport } from './origin/plugins.js'
export type { RegisteredBackend } from './origin/registry.js'
export type { PushStats } from '../protocol/push.js'
export {
  TASK_PROTOCOL, MAX_MESSAGE_BYTES, SeedServer, DEFAULT_SEED_LIMITS, Seeds, SeedGetHandle, SeedRequestHandle, SEED_IDLE_MS, SeedFailed,
  type SeedAccess, type SeedAnswer, type SeedInit, type SeedLimits, type SeedRequest, type SeedTask, type TaskAsk, type WireError,
  type SeedComponents, type SeedGetOptions, type SeedGetResult, type SeedProgress, type SeedRequestOptions, type SeedsComponents
} from './seed/index.js'
export { Discovery } from './discovery/discovery.js'
export { blobCid, hashOfCid, RAW_CODEC, BLAKE3_MULTIHASH } from './discovery/cid.js'
export { VERITY_KAD_PROTOCOL } from './discovery/constants.js'
export { AnnounceFailed, NoDhtPeers, RelayReservationFailed, StunServerFailed } from './discovery/errors.js'
export { RELAY_DEFAULTS, type ReachabilityInit, type RelayServerInit } from './discovery/reachability.js'
export { startStunServer, type StunServer, type StunServerInit } from './discovery/stun.js'
export { RelayLimitReached } from './net/relay-limit.js'
export { DhtInternalsChanged } from './discovery/kad-keys.js'
export { ProviderRecordsFull } from './discovery/record-store.js'
export type { AnnouncePolicy, AnnounceStats, DhtInit, DiscoveryEvent, FindProvidersOptions, FoundProvider } from './discovery/interface.js'
export type { DhtSettings } from './discovery/dht-service.js'
export { HashRing, DEFAULT_VIRTUAL_NODES, EmptyRing, ringHash, type HashRingOptions } from './routing/index.js'
export {
  HttpRequestClient, isAvailable, createRequestClient, RequestClient, BufferTooSmall, ClientClosed, NoSeedAvailable, RequestFailed, SeedAnswerInvalid, SeedUnavailable,
  type ClientStats, type CloseOptions, type RequestHeaders, type OpenOptions, type RequestPlaneClient, type SendOptions, type StreamResponse, type TransportName,
  type HttpClientInit, type SdkGetIntoResponse, type SdkGetRequest, type SdkGetResponse, type RequestClientInit, parseSeedFile, watchSeedFile, type WatchSeedFileOptions,
  Libp2pRequestClient, type Libp2pClientInit, serveRequests, type IncomingRequest, type OutgoingResponse, type ServeRequestsOptions, REQUEST_PROTOCOL, MAX_HEAD_BYTES,
  serveSeedRequests, seedRef, type SeedRef, schedulerSeeds, watchSchedulerSeeds, type SchedulerSeedsOptions, type WatchSchedulerSeedsOptions
} from './request/index.js'
export {
  Scheduler, schedulerHandler, listenScheduler, SCHEDULER_HOST, SCHEDULER_PORT, planPieces, peerIdOf, BadParameter, BodyTooLarge, UnknownRecord, NoRoute,
  PreheatExists, SchedulerError, SchedulerFull, SchedulerLocked, SchedulerClient, SchedulerRefused, fetchThroughScheduler, SchedulerTaskFailed,
  type SchedulerFetchOptions, type SchedulerFetchResult, type PlanInput, type SourceState, type Assignment, type CdnStatus, type ClientRecord, type PeerRecord,
  type PreheatRecord as SchedulerPreheatRecord, type PreheatState as SchedulerPreheatState, type SchedulerInit, type SchedulerLimits, type SeedImport,
  type SeedImporter, type TaskRecord as SchedulerTaskRecord
} from './scheduler/index.js'
