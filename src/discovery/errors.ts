/** No DHT peer could be reached: every bootstrap peer failed (or none was given) and none came since. */
export class NoDhtPeers extends Error {
  static override name = 'NoDhtPeers'
  constructor (message: string) {
    super(message)
    this.name = 'NoDhtPeers'
  }
}

/** An announcement no DHT peer accepted. */
export class AnnounceFailed extends Error {
  static override name = 'AnnounceFailed'
  constructor (message: string) {
    super(message)
    this.name = 'AnnounceFailed'
  }
}

/** No slot could be reserved on a relay given (`--relay-via`): it could not be reached, or refused (full, or no relay). */
export class RelayReservationFailed extends Error {
  static override name = 'RelayReservationFailed'
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'RelayReservationFailed'
  }
}

/** The STUN responder could not bind its UDP address (in use, not this machine's, not allowed). */
export class StunServerFailed extends Error {
  static override name = 'StunServerFailed'
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'StunServerFailed'
  }
}
