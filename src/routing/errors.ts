/** A lookup on a ring that holds no seed. */
export class EmptyRing extends Error {
  static override name = 'EmptyRing'
  constructor (message = 'the hash ring holds no seed') {
    super(message)
    this.name = 'EmptyRing'
  }
}
