import { RangeSpecSeq } from '../../protocol/range-spec.js'
import { bytesOf } from '../../store/ranges/coverage.js'
import { TransferWatch, type MinRate } from '../net/transfer-watch.js'
import type { FetchProgress, Remote } from '../remote.js'
import type { ProviderState, RunningView, Unit } from './state.js'

export interface RunOptions {
  /** A request that receives nothing for this long fails with Timeout. */
  idleTimeoutMs: number
  /** Less than this over a whole window fails with TooSlow; `false` for no minimum. */
  minRate: MinRate | false
}

/**
 * One request of a download, to one provider: a Get for one blob's ranges, or a GetMany for a
 * batch. It is stopped by the download (its signal), by the planner's stall rule (`stop`), or by
 * its watch: idle too long, or below the minimum rate. `run` resolves with the error it failed
 * with (the watch's or the stall rule's reason rather than the abort it caused), or undefined.
 */
export class RunningRequest implements RunningView {
  lastData = Date.now()
  received = 0
  readonly started = this.lastData
  /** About how many bytes the answer has, when every size is known. */
  readonly expected: number | undefined
  private readonly stopped = new AbortController()
  private readonly watch: TransferWatch

  constructor (readonly provider: ProviderState, readonly unit: Unit, options: RunOptions) {
    this.watch = new TransferWatch({ idleTimeoutMs: options.idleTimeoutMs, minRate: options.minRate })
    const sized = unit.every(({ want }) => want.size !== undefined)
    this.expected = sized ? unit.reduce((sum, { want, ranges }) => sum + bytesOf(ranges.canonicalize(want.size as number), want.size as number), 0) : undefined
  }

  /** What it asks for, as a progress item names it: `hash:ranges`, comma separated. */
  get part (): string {
    return this.unit.map(({ want, ranges }) => `${want.hex}:${ranges.toString()}`).join(',')
  }

  rateOver (ms: number): number | undefined {
    return this.watch.rateOver(ms)
  }

  stop (reason: Error): void {
    this.stopped.abort(reason)
  }

  /** Run it; `onBytes` hears each increase of the bytes read so far. */
  async run (remote: Remote, signal: AbortSignal, onBytes: (added: number) => void): Promise<Error | undefined> {
    const options = {
      signal: AbortSignal.any([signal, this.stopped.signal, this.watch.signal]),
      onProgress: (event: FetchProgress): void => {
        if (event.type !== 'fetch:progress') return
        const before = this.received
        this.received = event.detail.bytesRead
        this.lastData = Date.now()
        this.watch.progress(this.received)
        onBytes(this.received - before)
      },
      // This request is watched here, so the remote's own watch is off.
      idleTimeoutMs: Infinity,
      minRate: false as const
    }
    try {
      if (this.unit.length === 1) {
        const { want, ranges } = this.unit[0] as Unit[number]
        await remote.executeGet(this.provider.target, { hash: want.hash, ranges: RangeSpecSeq.root(ranges) }, options)
      } else {
        await remote.executeGetMany(this.provider.target, this.unit.map(u => u.want.hash), RangeSpecSeq.fromRanges(this.unit.map(u => u.ranges)), options)
      }
      return undefined
    } catch (err) {
      const reason = this.stopped.signal.aborted ? this.stopped.signal : this.watch.signal.aborted ? this.watch.signal : undefined
      return reason === undefined ? err as Error : reason.reason as Error
    } finally {
      this.watch.stop()
    }
  }
}
