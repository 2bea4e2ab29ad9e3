/**
 * The transport fixes (quic.ts, yamux.ts, tcp.ts) reach into internals of @chainsafe/libp2p-quic,
 * @chainsafe/libp2p-yamux and @libp2p/tcp that no public API promises. These errors say that the installed
 * dependency is not the one they were written and measured against, instead of the fixes
 * silently not applying.
 */

/** A dependency the transport fixes rely on is installed at a version other than the pinned one. */
export class UnexpectedTransportVersion extends Error {
  static override name = 'UnexpectedTransportVersion'
  constructor (readonly dependency = '', readonly expected = '', readonly found = '',
    message = `${dependency} ${found === '' ? 'is not installed where node resolves it' : `${found} is installed`}; ` +
      `verity's transport fixes (src/net/transport-fixes) were written and measured against ${expected}`) {
    super(message)
    this.name = 'UnexpectedTransportVersion'
  }
}

/** An object of the transport lacks a field or method a transport fix relies on. */
export class TransportInternalsChanged extends Error {
  static override name = 'TransportInternalsChanged'
  constructor (readonly where = '', readonly missing = '',
    message = `${where} has no ${missing}: the transport's internals changed, re-check src/net/transport-fixes`) {
    super(message)
    this.name = 'TransportInternalsChanged'
  }
}
