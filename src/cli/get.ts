import { basename } from 'node:path'
import { toHex } from '../../store/hash-text.js'
import { createNode } from '../node/create-node.js'
import { dataDir, FETCH_FLAGS, fetchLimits, flag, has, interruptSignal, resumable, Output, parseArgs, strategyOf, UsageError, type Target } from './common.js'
import { fetchInto } from './fetch.js'
import { exists, isDirectory, writeOut } from './files.js'
import { keepFetched, tagNameOf } from './get-tag.js'
import { writableOrThrow } from './output-dir.js'
import { target } from './peers.js'
import { getUrl, GET_URL_FLAGS } from './get-url.js'
import { isUrl } from './store-add-url.js'

/**
 * `verity get <ticket|hash>`: download (resuming whatever is already in the data directory),
 * verify, tag it (named after what is written, get-tag.ts; not with --no-tag) so gc keeps it,
 * then write the file, the collection's files, or (`-o -`) a single blob to stdout.
 */
export async function get (argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, {
    output: { value: true, short: 'o' },
    provider: { value: true, many: true },
    strategy: { value: true },
    overwrite: {},
    'no-tag': {},
    ...FETCH_FLAGS,
    ...GET_URL_FLAGS
  })
  if (parsed.positionals.length !== 1) throw new UsageError('get takes one ticket, hash or URL')
  if (isUrl(parsed.positionals[0] as string)) return await getUrl(parsed, parsed.positionals[0] as string)
  for (const name of Object.keys(GET_URL_FLAGS)) if (has(parsed, name)) throw new UsageError(`--${name} goes with a URL (verity get <url> --seed <peer>)`)
  const strategy = strategyOf(parsed)
  const limits = fetchLimits(parsed)
  const what = target(parsed.positionals[0] as string, parsed.flags.get('provider') ?? [])
  const output = flag(parsed, 'output')
  if (output === '-' && has(parsed, 'json')) throw new UsageError('-o - puts the blob on stdout, where --json would put its events: use one of them')
  const overwrite = has(parsed, 'overwrite')
  // Before the first byte is fetched, not after the whole download.
  if (output !== '-') await writableOrThrow(output ?? '.')
  // An existing directory takes what arrives under it; an existing file is not replaced unasked.
  if (output !== undefined && output !== '-' && !overwrite && await exists(output) && !await isDirectory(output)) {
    throw new Error(`${output} exists; pass --overwrite to replace it`)
  }
  const out = new Output(parsed)
  const interrupt = interruptSignal()
  const dir = dataDir(parsed)
  const node = await createNode({ dataDir: dir, ...(limits.minRate === undefined ? {} : { downloader: { minRate: limits.minRate } }) })
  try {
    await fetchInto(node, what, out, { strategy, signal: interrupt.signal, ...(limits.timeoutMs === undefined ? {} : { timeoutMs: limits.timeoutMs }), name: progressName(what, output) })
    const content = { hash: what.hash, format: what.format }
    if (!has(parsed, 'no-tag')) await keepFetched(node.blobs, content, await tagNameOf(node.blobs, content, output), out)
    await writeOut(node.blobs, what, output, overwrite, out, interrupt.signal)
    return 0
  } catch (err) {
    throw resumable(err, interrupt.signal, out, dir)
  } finally {
    interrupt.dispose()
    await node.stop()
  }
}

/** What the progress line calls a fetch: the file it goes to, else (stdout, a collection's files) the hash's start. */
function progressName (what: Target, output: string | undefined): string {
  if (what.format === 'raw' && output !== undefined && output !== '-') return basename(output)
  return toHex(what.hash).slice(0, 12)
}
