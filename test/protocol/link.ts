import type { OpenStream } from '../../protocol/get/machine.js'
import type { ByteStream } from '../../protocol/interface.js'
import type { Provider } from '../../protocol/provider/provider.js'
import { streamPair, type PairEnd, type PairOptions } from './stream-pair.js'

/** One stream a requester opened: both ends, and what served it. */
export interface Opened {
  requester: PairEnd
  provider: PairEnd
  /** Settles when the serving side is done with the stream. */
  served: Promise<void>
}

export interface LinkOptions {
  framed: boolean
  /** @default 'requester' */
  peer?: string
  /** @default 'connection-1' */
  connectionId?: string
  pair?: PairOptions
  /** Wrap the requester's end (a man in the middle). */
  wrap?: (stream: ByteStream) => ByteStream
}

/** What the requester's OpenStream does for a test: every stream it opened, in order. */
export interface Link {
  open: OpenStream
  opened: Opened[]
}

/** Streams to `serve`, a provider's or a test's own responder, over in-memory pairs. */
export function linkTo (serve: (stream: ByteStream) => Promise<void>, options: LinkOptions): Link {
  const opened: Opened[] = []
  const open: OpenStream = async signal => {
    signal?.throwIfAborted()
    const [requester, provider] = streamPair(options.pair)
    opened.push({ requester, provider, served: serve(provider.stream) })
    return { stream: options.wrap?.(requester.stream) ?? requester.stream, framed: options.framed }
  }
  return { open, opened }
}

/** Streams to `provider`, as src/node/blobs-service.ts hands them over (peer, connection, protocol). */
export function linkToProvider (provider: Provider, options: LinkOptions): Link {
  const info = { peer: options.peer ?? 'requester', connectionId: options.connectionId ?? 'connection-1', framed: options.framed }
  return linkTo(async stream => { await provider.serve(stream, info) }, options)
}
