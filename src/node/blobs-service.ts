import type { ComponentLogger, Connection, Libp2pEvents, Logger, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { IROH_PROTOCOL, VERITY_PROTOCOL } from '../../protocol/constants.js'
import type { ProviderEvent, ProviderPolicy } from '../../protocol/interface.js'
import { Provider, type ServeLimits } from '../../protocol/provider/provider.js'
import type { BlobStore } from '../../store/interface.js'
import { byteStream } from '../net/stream.js'

export interface BlobsServiceInit {
  store: BlobStore
  /** Who may ask for what. @default get, getMany and observe for all, push for none */
  policy?: ProviderPolicy
  onEvent?: (event: ProviderEvent) => void
  /** What serving may cost (protocol/provider/provider.ts, DEFAULT_SERVE_LIMITS). */
  limits?: Partial<ServeLimits>
  /** Streams open at once on one connection, per protocol; libp2p resets more. @default 64 */
  maxStreamsPerConnection?: number
}

export interface BlobsComponents {
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** The blobs protocol as a libp2p service: serves both protocol ids from the store. */
export class BlobsService implements Startable {
  readonly provider: Provider
  private readonly log: Logger
  private readonly onClose = (evt: CustomEvent<Connection>): void => { this.provider.connectionClosed(evt.detail.remotePeer.toString(), evt.detail.id) }

  constructor (private readonly components: BlobsComponents, private readonly init: BlobsServiceInit) {
    this.log = components.logger.forComponent('verity:blobs')
    this.provider = new Provider({
      store: init.store,
      logger: components.logger,
      ...(init.policy === undefined ? {} : { policy: init.policy }),
      ...(init.onEvent === undefined ? {} : { onEvent: init.onEvent }),
      ...(init.limits === undefined ? {} : { limits: init.limits })
    })
  }

  async start (): Promise<void> {
    // runOnLimitedConnection: a peer behind NAT is served over a relayed connection too (within the relay's limits).
    const limits = { maxInboundStreams: this.init.maxStreamsPerConnection ?? 64, maxOutboundStreams: 1024, runOnLimitedConnection: true }
    await this.components.registrar.handle(VERITY_PROTOCOL, (stream, connection) => this.serve(stream, connection, true), limits)
    await this.components.registrar.handle(IROH_PROTOCOL, (stream, connection) => this.serve(stream, connection, false), limits)
    this.components.events.addEventListener('connection:close', this.onClose)
    this.log('serving %s and %s, %d streams per connection', VERITY_PROTOCOL, IROH_PROTOCOL, limits.maxInboundStreams)
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('connection:close', this.onClose)
    await this.components.registrar.unhandle(VERITY_PROTOCOL)
    await this.components.registrar.unhandle(IROH_PROTOCOL)
  }

  private serve (stream: Stream, connection: Connection, framed: boolean): void {
    // Observe streams may sit quiet for long; the provider ends the others itself.
    stream.inactivityTimeout = 0
    const adapted = byteStream(stream, { writeStallMs: this.provider.limits.sendTimeoutMs })
    void this.provider.serve(adapted, { peer: connection.remotePeer.toString(), connectionId: connection.id, framed })
  }
}

export function blobsService (init: BlobsServiceInit): (components: BlobsComponents) => BlobsService {
  return components => new BlobsService(components, init)
}
