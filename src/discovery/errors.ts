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
