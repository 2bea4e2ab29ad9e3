/** A path in a collection the gateway does not read: a `.` or `..` part, an empty part, NUL or another control character, a `\` or an encoded `/`, bad percent-encoding. Answered 400. */
export class InvalidPath extends Error {
  static override name = 'InvalidPath'
  constructor (readonly path: string, message = `not a path in a collection: ${JSON.stringify(path.slice(0, 200))}`) {
    super(message)
    this.name = 'InvalidPath'
  }
}

/** A path in a collection longer than the gateway reads (MAX_PATH_LENGTH). Answered 414. */
export class PathTooLong extends Error {
  static override name = 'PathTooLong'
  constructor (readonly length: number, readonly limit: number, message = `a path of ${length} characters is longer than the ${limit} the gateway reads`) {
    super(message)
    this.name = 'PathTooLong'
  }
}
