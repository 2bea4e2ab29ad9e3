import { CHUNK_SIZE } from '../../store/bao/constants.js'
import { toHex } from '../../store/hash-text.js'
import type { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { has, hashOrTicket, Interrupted, parseArgs, size } from './common.js'
import { interruptOf, withStore, type CommandContext } from './store-context.js'

/** Bytes of a blob of `total` bytes that `ranges` (chunks) cover. */
function bytesIn (ranges: ChunkRanges, total: number): Array<[number, number]> {
  const edges = ranges.boundaries
  const out: Array<[number, number]> = []
  for (let i = 0; i < edges.length; i += 2) {
    const start = (edges[i] as number) * CHUNK_SIZE
    const end = Math.min(total, (edges[i + 1] ?? Infinity) * CHUNK_SIZE)
    if (end > start) out.push([start, end])
  }
  return out
}

/**
 * `verity verify [hash...] [--repair]`: hash stored bytes again (all blobs by default). Exit 1
 * when anything was bad, repaired or not.
 */
export async function verify (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { repair: {} })
  const repair = has(parsed, 'repair')
  const interrupt = interruptOf(ctx)
  try {
    return await withStore(parsed, ctx, async (store, out) => {
      const hashes: Uint8Array[] = parsed.positionals.map(text => hashOrTicket(text).hash)
      if (hashes.length === 0) for await (const { hash } of store.list()) hashes.push(hash)
      let bad = 0
      let checked = 0
      const sizes: number[] = []
      for (const hash of hashes) {
        const status = await store.status(hash)
        if (status.status === 'absent') throw new Error(`${toHex(hash)} is not in the store`)
        sizes.push(status.size)
      }
      const total = sizes.reduce((sum, n) => sum + n, 0)
      const started = performance.now()
      let reached = 0
      for (const [i, hash] of hashes.entries()) {
        const hex = toHex(hash)
        const blobSize = sizes[i] as number
        out.draw(reached, total, started, reached) // while this blob is read
        const result = await store.verify(hash, { repair, signal: interrupt.signal })
        checked += result.checkedBytes
        reached += blobSize
        const badBytes = bytesIn(result.bad, blobSize)
        out.event({
          type: 'verified',
          hash: hex,
          ok: result.bad.isEmpty(),
          checkedBytes: result.checkedBytes,
          bad: badBytes,
          ...(result.error === undefined ? {} : { error: result.error }),
          ...(result.repaired === undefined ? {} : { repaired: result.repaired })
        })
        if (result.bad.isEmpty()) {
          out.result(`ok   ${hex}  ${size(result.checkedBytes)}`)
          continue
        }
        bad++
        const where = badBytes.map(([s, e]) => `${s}..${e}`).join(', ')
        const done = result.repaired === 'removed' ? '; removed from the store' : result.repaired === 'ranges' ? '; dropped, a fetch brings them back' : ''
        out.result(`BAD  ${hex}  bytes ${where}${result.error === undefined ? '' : ` (${result.error})`}${done}`)
      }
      out.say(`verified ${hashes.length} blob${hashes.length === 1 ? '' : 's'}, ${size(checked)} read again: ${bad === 0 ? 'all good' : `${bad} bad${repair ? '' : ' (verity verify --repair drops what is bad)'}`}`)
      return bad === 0 ? 0 : 1
    })
  } catch (err) {
    if (interrupt.signal.aborted) throw new Interrupted('interrupted; nothing was changed by the blob being checked')
    throw err
  } finally {
    interrupt.dispose()
  }
}
