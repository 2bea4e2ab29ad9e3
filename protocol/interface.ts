/**
 * A bidirectional byte stream as the protocol sees it. `src/` adapts libp2p streams to it;
 * tests use in-memory pairs, so the protocol logic does not depend on a transport.
 */
export interface ByteStream {
  /** Bytes from the remote side, until it closes its write side. */
  readonly source: AsyncIterable<Uint8Array>
  /** Resolves once the bytes are accepted (waits while the transport applies back pressure). */
  write: (bytes: Uint8Array) => Promise<void>
  /** Close our write side cleanly once everything written is sent. */
  closeWrite: () => Promise<void>
  /** Reset both directions now. */
  abort: (err: Error) => void
}
