import { pipe } from 'it-pipe'
import { ByteReader } from '../../store/bao/byte-reader.js'
import { decodeRanges, type DecodedItem } from '../../store/bao/decode.js'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore, ImportResult } from '../../store/interface.js'
import type { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { countBytes } from '../count.js'
import { MalformedMessage, NotFound } from '../errors.js'
import { deframe } from '../frame.js'
import type { ByteStream } from '../interface.js'
import { nextSelected } from '../range-spec.js'
import { encodeRequest, type GetRequest, type Request } from '../request.js'

/**
 * The requesting side of Get and GetMany as a state machine, one class per step:
 * AtInitial -> AtConnected -> (AtBlobHeader -> AtBlobContent -> AtEndBlob | AtStartChild)* -> AtClosing.
 * Each `next()` returns the next state; branches are tagged unions.
 */

/** A Get or GetMany request. */
export type FetchRequest = Extract<Request, { type: 'get' | 'getMany' }>

/** A stream for one request; `framed` when verity's framed protocol was agreed. */
export type OpenStream = (signal?: AbortSignal) => Promise<{ stream: ByteStream, framed: boolean }>

export interface GetStats {
  /** Encoded response bytes read (without framing). */
  bytesRead: number
  elapsedMs: number
}

export interface MachineOptions {
  signal?: AbortSignal
  /** Called as response bytes arrive, with the running total. */
  onBytes?: (bytesRead: number) => void
}

/** What the steps share: the response reader and the request. */
class Session {
  readonly started = performance.now()
  bytesRead = 0
  constructor (readonly request: FetchRequest, readonly framed: boolean, readonly signal: AbortSignal | undefined,
    readonly stream: ByteStream | undefined) {}

  reader!: ByteReader

  /** Offset `i` of the request: its ranges, and its hash when the request itself says it. */
  selected (from: number): { offset: number, ranges: ChunkRanges, hash: Uint8Array | undefined } | undefined {
    const request = this.request
    const seq = request.type === 'get' ? request.request.ranges : request.ranges
    const offset = nextSelected(seq, from)
    if (offset === undefined) return undefined
    if (request.type === 'getMany') {
      const hash = request.hashes[offset]
      return hash === undefined ? undefined : { offset, ranges: seq.at(offset), hash }
    }
    return { offset, ranges: seq.at(offset), hash: offset === 0 ? request.request.hash : undefined }
  }

  stats (): GetStats {
    return { bytesRead: this.bytesRead, elapsedMs: performance.now() - this.started }
  }
}

export type ConnectedNext =
  | { type: 'blob', state: AtBlobHeader }
  | { type: 'child', state: AtStartChild }
  | { type: 'closing', state: AtClosing }

export class AtInitial {
  constructor (private readonly open: OpenStream, readonly request: FetchRequest, private readonly options: MachineOptions = {}) {}

  /** Open the stream, send the request and close our side. */
  async next (): Promise<AtConnected> {
    const { stream, framed } = await this.open(this.options.signal)
    try {
      await stream.write(encodeRequest(this.request))
      await stream.closeWrite()
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
    return AtConnected.fromSource(stream.source, this.request, { ...this.options, framed, stream })
  }
}

export class AtConnected {
  private constructor (private readonly session: Session) {}

  /** A response arriving on `source` (a stream, or the data after a push request). */
  static fromSource (source: AsyncIterable<Uint8Array>, request: FetchRequest,
    options: MachineOptions & { framed: boolean, stream?: ByteStream }): AtConnected {
    const session = new Session(request, options.framed, options.signal, options.stream)
    // The stream's bytes, out of their frames, counted; the states read them through one ByteReader.
    const payload = pipe(
      source,
      bytes => options.framed ? deframe(bytes) : bytes,
      bytes => countBytes(bytes, n => {
        session.bytesRead += n
        options.onBytes?.(session.bytesRead)
      })
    )
    session.reader = new ByteReader(payload, options.signal)
    return new AtConnected(session)
  }

  get request (): FetchRequest { return this.session.request }

  async next (): Promise<ConnectedNext> {
    return advance(this.session, 0)
  }
}

function advance (session: Session, from: number): ConnectedNext {
  const next = session.selected(from)
  if (next === undefined) return { type: 'closing', state: new AtClosing(session) }
  if (next.hash !== undefined) return { type: 'blob', state: new AtBlobHeader(session, next.offset, next.hash, next.ranges) }
  return { type: 'child', state: new AtStartChild(session, next.offset, next.ranges) }
}

/** A Get's next child: the caller knows its hash (from the HashSeq) or ends the request. */
export class AtStartChild {
  constructor (private readonly session: Session, readonly offset: number, readonly ranges: ChunkRanges) {}

  /** Index of the child within the root HashSeq. */
  get child (): number { return this.offset - 1 }

  next (hash: Uint8Array): AtBlobHeader {
    return new AtBlobHeader(this.session, this.offset, hash, this.ranges)
  }

  /** No such child (the HashSeq is shorter): the response ends here. */
  finish (): AtClosing {
    return new AtClosing(this.session)
  }
}

/** Before a blob's size header. */
export class AtBlobHeader {
  constructor (private readonly session: Session, readonly offset: number, readonly hash: Uint8Array, readonly ranges: ChunkRanges) {}

  /** Read the size header; the content follows. */
  async next (): Promise<AtBlobContent> {
    await this.checkPresent()
    const items = decodeRanges(this.hash, this.ranges, this.session.reader, this.session.signal === undefined ? {} : { signal: this.session.signal })
    const first = await items.next()
    if (first.done === true || first.value.type !== 'size') throw new MalformedMessage('the decoder yielded no size')
    return new AtBlobContent(this.session, this, first.value.size, items)
  }

  /** Verify this blob's response and write what verifies into the store. */
  async importInto (store: BlobStore): Promise<AtEndBlob> {
    await this.checkPresent()
    const result = await store.importBao(this.hash, this.ranges, this.session.reader, this.session.signal === undefined ? {} : { signal: this.session.signal })
    return new AtEndBlob(this.session, this.offset, result)
  }

  /** iroh's signal for a missing blob is the end of the stream before its size header. */
  private async checkPresent (): Promise<void> {
    if (await this.session.reader.atEnd()) throw new NotFound(toHex(this.hash), `the peer does not have ${toHex(this.hash)}`)
  }
}

/** The size is read; verified items follow. */
export class AtBlobContent {
  constructor (private readonly session: Session, readonly header: AtBlobHeader, readonly size: number,
    private readonly items: AsyncGenerator<DecodedItem>) {}

  /** Verified parents and leaves, in stream order; iterate to the end, or stop early: next() reads the rest. */
  async * content (): AsyncGenerator<Exclude<DecodedItem, { type: 'size' }>> {
    // Pulled by hand, not with for-await: a caller breaking out of this loop must not close the
    // decoder, or next() could not drain the rest and the next blob would be read from mid-blob.
    while (true) {
      const item = await this.items.next()
      if (item.done === true) return
      if (item.value.type !== 'size') yield item.value
    }
  }

  async next (): Promise<AtEndBlob> {
    // Finish whatever the caller left unread, so the reader stands at the next blob.
    for await (const _ of this.content()) { /* drained */ }
    return new AtEndBlob(this.session, this.header.offset, undefined)
  }
}

export class AtEndBlob {
  constructor (private readonly session: Session, readonly offset: number,
    /** What the store kept, when the blob was imported. */
    readonly imported: ImportResult | undefined) {}

  async next (): Promise<ConnectedNext> {
    return advance(this.session, this.offset + 1)
  }
}

export class AtClosing {
  constructor (private readonly session: Session) {}

  /** Check that the response ended as it should (status Ok when framed), and report. */
  async next (): Promise<GetStats> {
    const reader = this.session.reader
    if (!(await reader.atEnd())) {
      await reader.close()
      this.session.stream?.abort(new MalformedMessage('response continues past the request'))
      throw new MalformedMessage('the response continues past what was asked')
    }
    return this.session.stats()
  }
}

/** Shorthand for tests and callers holding a GetRequest. */
export function getRequest (request: GetRequest): FetchRequest {
  return { type: 'get', request }
}
