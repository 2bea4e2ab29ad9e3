import { toHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { coverage } from '../../store/ranges/coverage.js'
import { dataDir, FETCH_FLAGS, STUN_FLAG, fetchLimits, flag, has, interruptSignal, resumable, Output, parseArgs, strategyOf, UsageError } from './common.js'
import { target } from './peers.js'
import { openStore, storeOrThrow } from './store-context.js'
import { toStdout } from './files.js'

function count (text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--${name} takes a whole number of bytes, not ${text}`)
  return Number(text)
}

/**
 * `verity cat <ticket|hash> [--offset N] [--length N]`: a blob's bytes (or a range of them) on
 * stdout, verified; from the store when it has them, else fetched first (only the chunks needed).
 */
export async function cat (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, {
    offset: { value: true },
    length: { value: true },
    provider: { value: true, many: true },
    strategy: { value: true },
    ...FETCH_FLAGS,
    ...STUN_FLAG
  })
  if (parsed.positionals.length !== 1) throw new UsageError('cat takes one ticket or hash')
  if (has(parsed, 'json')) throw new UsageError('cat puts the blob on stdout, where --json would put its events')
  const strategy = strategyOf(parsed)
  const limits = fetchLimits(parsed)
  const what = target(parsed.positionals[0] as string, parsed.flags.get('provider') ?? [])
  if (what.format === 'hashseq') throw new UsageError('that ticket is for a collection: cat prints one blob (verity get writes a collection\'s files)')
  const offset = count(flag(parsed, 'offset'), 'offset') ?? 0
  const length = count(flag(parsed, 'length'), 'length')
  const range = offset === 0 && length === undefined ? undefined : { offset, length: length ?? Number.MAX_SAFE_INTEGER - offset }
  const read = { offset, ...(length === undefined ? {} : { length }) }
  const out = new Output(parsed)
  const dir = dataDir(parsed)
  const interrupt = interruptSignal()
  try {
    // Everything asked for already here: no network node at all. No store here: with a
    // provider, cat fetches (and keeps what it fetched, so it makes the store); without, NoStore.
    const store = what.providers.length === 0 ? await openStore(dir) : await storeOrThrow(dir).then(async () => await openStore(dir), () => undefined)
    if (store !== undefined) {
      try {
        const wanted = range === undefined ? ChunkRanges.all() : ChunkRanges.fromByteRange(range.offset, range.offset + range.length)
        const here = coverage(await store.bitfield(what.hash), wanted)
        if (here.size !== undefined && here.missing.isEmpty()) {
          await toStdout(store.reader(what.hash, { ...read, signal: interrupt.signal }))
          return 0
        }
      } finally {
        await store.close()
      }
    }
    if (what.providers.length === 0) throw new Error(`${toHex(what.hash)} is not here and no provider was given (a ticket names one; or --provider)`)
    // The network stack only now: a local cat does without it.
    const { createNode } = await import('../node/create-node.js')
    const { fetchInto } = await import('./fetch.js')
    const { reachabilityFor, stunOf } = await import('./relay-flags.js')
    // A provider behind a relay: dialled there, hole punched where the NATs allow (as get does).
    const reachability = reachabilityFor(what.providers, stunOf(parsed) ?? [])
    const node = await createNode({
      dataDir: dir,
      ...(reachability === undefined ? {} : { reachability }),
      ...(limits.minRate === undefined ? {} : { downloader: { minRate: limits.minRate } })
    })
    try {
      await fetchInto(node, what, out, { strategy, signal: interrupt.signal, ...(range === undefined ? {} : { range }), ...(limits.timeoutMs === undefined ? {} : { timeoutMs: limits.timeoutMs }), name: toHex(what.hash).slice(0, 12) })
      await toStdout(node.blobs.reader(what.hash, { ...read, signal: interrupt.signal }))
      return 0
    } finally {
      await node.stop()
    }
  } catch (err) {
    throw resumable(err, interrupt.signal, out, dir)
  } finally {
    interrupt.dispose()
  }
}
