/** The iroh-blobs protocol, byte for byte: a failure is a reset, a missing blob an early end. */
export const IROH_PROTOCOL = '/iroh-bytes/4'

/**
 * The same requests with framed responses that end in a status, so a requester can tell not
 * found, permission, rate limited and internal errors apart over any libp2p transport (reset
 * codes do not reach the reader on QUIC and do not exist on yamux). docs/PROTOCOL.md has the bytes.
 */
export const VERITY_PROTOCOL = '/verity/blobs/1'
