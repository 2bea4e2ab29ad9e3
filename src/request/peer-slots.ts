/**
 * At most `max` requests open to one peer at once; more wait their turn, first come first
 * served (as node:http's Agent queues past maxSockets). A seed answers a peer's requests past its
 * own limit with 429, which the SDK takes for the seed failing: a client keeping under it waits
 * for the ring's seed instead of sending the task to the next one (and its origin fetch with it).
 */
export class PeerSlots {
  private readonly peers = new Map<string, { active: number, waiting: Array<() => void> }>()

  constructor (private readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${String(max)}`)
  }

  /** Whether any request waits for a slot. */
  get queued (): boolean {
    for (const entry of this.peers.values()) if (entry.waiting.length > 0) return true
    return false
  }

  /** Resolves once `peer` has a slot for the caller, to the function that gives it back (once); rejects with the reason if `signal` aborts first. */
  async take (peer: string, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted()
    const entry = this.peers.get(peer) ?? { active: 0, waiting: [] }
    this.peers.set(peer, entry)
    if (entry.active < this.max) {
      entry.active++
    } else {
      await new Promise<void>((resolve, reject) => {
        const turn = (): void => { signal.removeEventListener('abort', onAbort); resolve() }
        const onAbort = (): void => {
          entry.waiting.splice(entry.waiting.indexOf(turn), 1)
          reject(signal.reason)
        }
        entry.waiting.push(turn)
        signal.addEventListener('abort', onAbort, { once: true })
      })
    }
    let given = false
    return () => {
      if (given) return
      given = true
      // The slot goes straight to the next in line (active stays), or is freed.
      const next = entry.waiting.shift()
      if (next !== undefined) next()
      else if (--entry.active === 0) this.peers.delete(peer)
    }
  }
}
