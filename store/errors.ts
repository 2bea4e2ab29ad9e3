/** Named errors of the blob store; callers check `err.name`. */

/** The blob is not in the store (or not the part asked for: see MissingRange). */
export class NotFound extends Error {
  static override name = 'NotFound'
  constructor (readonly hash: string, message = `blob ${hash} is not in the store`) {
    super(message)
    this.name = 'NotFound'
  }
}

/** A collection entry name that could escape its directory or is not a plain relative path. */
export class UnsafeName extends Error {
  static override name = 'UnsafeName'
  constructor (readonly entryName: string, message = `unsafe name in collection: ${JSON.stringify(entryName)}`) {
    super(message)
    this.name = 'UnsafeName'
  }
}

/**
 * Two entries of a collection would be written to one place: the same name twice, or a name that
 * is a file and also a directory of another (`a` and `a/b`). Written out, one would silently
 * replace the other.
 */
export class DuplicateName extends Error {
  static override name = 'DuplicateName'
  constructor (readonly entryName: string, message = `duplicate name in collection: ${JSON.stringify(entryName)} twice`) {
    super(message)
    this.name = 'DuplicateName'
  }
}

/** A HashSeq blob whose length is not a multiple of 32, or a collection whose metadata is bad. */
export class InvalidHashSeq extends Error {
  static override name = 'InvalidHashSeq'
  constructor (message = 'invalid HashSeq') {
    super(message)
    this.name = 'InvalidHashSeq'
  }
}

/** Another process holds the store's directory (one process per FsStore directory). */
export class StoreLocked extends Error {
  static override name = 'StoreLocked'
  constructor (message = 'the store is in use by another process') {
    super(message)
    this.name = 'StoreLocked'
  }
}

/** The store was closed. */
export class StoreClosed extends Error {
  static override name = 'StoreClosed'
  constructor (message = 'the store is closed') {
    super(message)
    this.name = 'StoreClosed'
  }
}
