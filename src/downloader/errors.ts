import type { FailureReason } from './interface.js'

/** Every caller's download failed: no provider could deliver what is missing. */
export class DownloadFailed extends Error {
  static override name = 'DownloadFailed'
  constructor (message: string) {
    super(message)
    this.name = 'DownloadFailed'
  }
}

/** Errors that prove a provider sent data not belonging to the hash. */
const BAD_DATA = new Set(['LeafHashMismatch', 'ParentHashMismatch', 'InvalidSize', 'TrailingData'])

/** Why a request failed, by its error's name: what the download does about the provider follows. */
export function reasonOf (failure: Error): FailureReason {
  if (BAD_DATA.has(failure.name)) return 'badData'
  if (failure.name === 'NotFound' || failure.name === 'MissingRange') return 'notFound'
  if (failure.name === 'TooSlow') return 'tooSlow'
  return 'error'
}
