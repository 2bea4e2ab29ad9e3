import { DownloadFailed } from '../downloader/errors.js'
import type { FailureReason } from '../downloader/interface.js'
import type { PeerTarget } from '../net/peer.js'
import type { Output } from './common.js'
import { withDetail } from './failure.js'
import { detailOf, nextStep, troubleOf, troubleWords, type Trouble } from './fetch-words.js'
import { describePeer } from './peers.js'

/**
 * What a fetch says while it connects and fails, the same for `get`, `cat` and `serve --provider`'s
 * on-demand fetches: "connecting to <peer> (<addrs>)...", each provider's failure in verity's words
 * and whether it is asked again (its library's text with -v), and the download's failure.
 */

/** A peer as the lines name it: its id and the addresses it is dialled at. */
export interface PeerLine { id: string, addrs: string[] }

/** One line per peer: a ticket and a --provider may name the same one at other addresses. */
export function peersOf (targets: PeerTarget[]): PeerLine[] {
  const byId = new Map<string, string[]>()
  // `/p2p/<id>` alone names no address: '' once the peer id is taken off.
  for (const peer of targets.map(describePeer)) byId.set(peer.id, [...new Set([...(byId.get(peer.id) ?? []), ...peer.addrs.filter(addr => addr !== '')])])
  return [...byId].map(([id, addrs]) => ({ id, addrs }))
}

/** The addresses of a peer as a line shows them. */
export const whereOf = (peer: PeerLine): string => peer.addrs.length === 0 ? 'addresses this node knows' : peer.addrs.join(', ')

/** A provider's failed request, as the Downloader's `download:provider-failed` item tells it. */
export interface ProviderFailure { provider: string, reason: FailureReason, error: Error, dropped: boolean }

export class FetchReport {
  /** Each provider's last trouble, for the download's failure. */
  private readonly troubles = new Map<string, Trouble>()

  constructor (private readonly out: Output) {}

  connecting (peer: PeerLine): void {
    this.out.say(`connecting to ${peer.id} (${whereOf(peer)})...`)
    this.out.event({ type: 'connecting', peer: peer.id, addrs: peer.addrs })
  }

  /** A provider failed a request: what happened, and whether it is asked again. */
  failed ({ provider, reason, error, dropped }: ProviderFailure): void {
    if (provider === 'providers') { // an entry of a provider source that is no peer (a DHT record)
      this.out.say(`a provider found was not a peer verity can dial; skipped${this.out.verbose ? ` (${detailOf(error)})` : ''}`)
      return
    }
    const trouble = troubleOf(error, reason)
    this.troubles.set(provider, trouble)
    const then = dropped ? 'no more requests to it' : trouble === 'lacks' ? 'it is not asked for that again' : 'retrying'
    this.out.say(`${provider}: ${troubleWords(trouble)}; ${then}`)
    if (this.out.verbose) this.out.say(`${provider}: detail: ${detailOf(error)}`)
    this.out.event({ type: 'providerFailed', provider, reason, trouble, message: troubleWords(trouble), error: detailOf(error), retrying: !dropped })
  }

  /** The download's failure in verity's words, what to do next, and the Downloader's own text for -v. */
  downloadFailed (err: DownloadFailed, what: string, tried: string): DownloadFailed {
    const each = [...this.troubles].map(([peer, trouble]) => `${peer}: ${troubleWords(trouble)}`)
    const why = each.length === 0 ? 'the providers did not have all of it' : each.join('; ')
    return withDetail(new DownloadFailed(`no provider could deliver ${what}: ${why}; tried ${tried}; ${nextStep([...this.troubles.values()])}`), err.message)
  }
}
