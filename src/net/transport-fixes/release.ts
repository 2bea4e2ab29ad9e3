/**
 * Whether a transport still holds bytes written to one of its streams, where the transport-fixes
 * can tell (QUIC, and yamux over noise): per libp2p stream, a check that is true once every byte
 * handed to `send` has left the transport's hands (sent by the native side, or copied into the
 * ciphertext that goes to the socket). byteStream() offers it as ByteStream.released, which lets a
 * writer fill a written buffer again instead of allocating one per write.
 */
const checks = new WeakMap<object, () => boolean>()

/** Registers how to tell, for `stream`, that the transport holds none of its written bytes. */
export function tellWhenReleased (stream: object, check: () => boolean): void {
  checks.set(stream, check)
}

/** The check registered for `stream`; undefined where its transport cannot tell. */
export function releaseCheck (stream: object): (() => boolean) | undefined {
  return checks.get(stream)
}
