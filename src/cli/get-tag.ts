import { basename, resolve } from 'node:path'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore, HashAndFormat } from '../../store/interface.js'
import type { Output } from './common.js'
import { layoutOf } from './files.js'

/**
 * The tag `verity get` keeps what it fetched under, named after what it writes at the top: the
 * file's name (`-o copy.bin`: copy.bin; a blob without -o: its hash), or the directory a
 * collection's files all lie under (a sent directory `docs`: docs). A collection with several
 * files at the top, and a blob written to stdout (`-o -`), have no such name: the hash in hex.
 */
export async function tagNameOf (blobs: BlobStore, what: HashAndFormat, output: string | undefined): Promise<string> {
  if (output === '-') return toHex(what.hash)
  const { files, single } = await layoutOf(blobs, what, output)
  if (single && output !== undefined) return basename(resolve(output))
  const tops = new Set(files.map(file => file.name.split('/')[0] as string))
  return tops.size === 1 ? [...tops][0] as string : toHex(what.hash)
}

/**
 * Tag `value` as `name`, so that gc keeps it (a collection with its files). A tag of that name
 * already keeping this value is kept as it is; one keeping something else is never replaced (that
 * would hand an earlier fetch to gc): the first free `name-2`, `name-3`... is taken instead.
 * Returns the name used.
 */
export async function keepFetched (blobs: BlobStore, value: HashAndFormat, name: string, out: Output): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name}-${n}`
    const existing = await blobs.tags.get(candidate)
    if (existing !== undefined && (existing.format !== value.format || toHex(existing.hash) !== toHex(value.hash))) continue
    if (existing === undefined) await blobs.tags.set(candidate, value)
    out.say(`tagged ${candidate}, so verity gc keeps it (verity tag rm ${candidate} to let it go)`)
    out.event({ type: 'tagged', name: candidate, hash: toHex(value.hash), format: value.format })
    return candidate
  }
}
