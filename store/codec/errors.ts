/** A request, message or stored record that does not decode: bad varint, wrong length, bytes past a limit. */
export class MalformedMessage extends Error {
  static override name = 'MalformedMessage'
  constructor (message = 'malformed message') {
    super(message)
    this.name = 'MalformedMessage'
  }
}
