import { resolve } from 'node:path'
import { toHex } from '../../store/hash-text.js'
import { bytesOf } from '../../store/ranges/coverage.js'
import { has, parseArgs, size, UsageError } from './common.js'
import { writeOut } from './files.js'
import { interruptOf, knownFormat, named, withStore, type CommandContext } from './store-context.js'

/** Reading what the store holds: `ls` lists it, `export` writes it out. */

/** `verity ls`: every blob in the store, complete or partial, with its size and tags. */
export async function ls (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, {})
  if (parsed.positionals.length > 0) throw new UsageError('ls takes no arguments')
  return await withStore(parsed, ctx, async (store, out) => {
    const tags = new Map<string, string[]>()
    for await (const { name, value } of store.tags.list()) {
      const hex = toHex(value.hash)
      tags.set(hex, [...(tags.get(hex) ?? []), name])
    }
    for await (const { hash, status } of store.list()) {
      const hex = toHex(hash)
      if (status.status === 'absent') continue
      const present = status.status === 'complete' ? status.size : bytesOf((await store.bitfield(hash)).ranges.canonicalize(status.size), status.size)
      const names = tags.get(hex) ?? []
      // A partial blob's size is what its provider declared until the last chunk proves it.
      const proven = status.status === 'complete' || status.sizeVerified
      // Known only to a running serve or send --dht, which runs this ls for us.
      const announced = ctx.announced === undefined ? undefined : ctx.announced(hash) ?? 'no'
      out.event({ type: 'blob', hash: hex, status: status.status, size: status.size, sizeVerified: proven, presentBytes: present, tags: names, ...(announced === undefined ? {} : { announced }) })
      const state = status.status === 'complete' ? 'complete' : `partial ${size(present)} of${proven ? '' : ' (declared, unproven)'}`
      out.result(`${hex}  ${state} ${size(status.size)}${announced === 'announced' ? '  announced' : announced === 'pending' ? '  announce pending' : ''}${names.length > 0 ? `  ${names.join(',')}` : ''}`)
    }
    return 0
  })
}

/** `verity export <hash|ticket> <path>`: a blob to a file, a collection's files under a directory. */
export async function exportCommand (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { overwrite: {}, collection: {} })
  if (parsed.positionals.length !== 2) throw new UsageError('export takes a hash and a path')
  const [text, path] = parsed.positionals as [string, string]
  const interrupt = interruptOf(ctx)
  try {
    return await withStore(parsed, ctx, async (store, out) => {
      const value = await knownFormat(store, named(text, has(parsed, 'collection')))
      const status = await store.status(value.hash)
      if (status.status !== 'complete') {
        throw new Error(`${toHex(value.hash)} is ${status.status === 'absent' ? 'not in the store' : 'only partly here'} (verity get fetches it)`)
      }
      await writeOut(store, value, path === '-' ? path : resolve(ctx.cwd ?? process.cwd(), path), has(parsed, 'overwrite'), out, interrupt.signal)
      return 0
    })
  } finally {
    interrupt.dispose()
  }
}
