import { toHex } from '../../store/hash-text.js'
import { has, parseArgs, size, UsageError } from './common.js'
import { knownFormat, named, withStore, type CommandContext } from './store-context.js'

/** What the store keeps: `tag` names blobs to keep, `gc` deletes what no tag keeps. */

/** `verity tag set <name> <hash|ticket> | rm <name> | ls [prefix]`. */
export async function tag (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { collection: {} })
  const [action, ...args] = parsed.positionals
  return await withStore(parsed, ctx, async (store, out) => {
    switch (action) {
      case 'set': {
        if (args.length !== 2) throw new UsageError('tag set takes a name and a hash')
        const [name, text] = args as [string, string]
        const value = await knownFormat(store, named(text, has(parsed, 'collection')))
        if ((await store.status(value.hash)).status === 'absent') out.say(`note: ${toHex(value.hash)} is not in the store (yet); the tag keeps it once it is`)
        await store.tags.set(name, value)
        out.event({ type: 'tagged', name, hash: toHex(value.hash), format: value.format })
        return 0
      }
      case 'rm': {
        if (args.length !== 1) throw new UsageError('tag rm takes a name')
        const name = args[0] as string
        if (await store.tags.get(name) === undefined) throw new Error(`no tag named ${name}`)
        await store.tags.delete(name)
        out.say(`removed tag ${name}; verity gc deletes what no tag keeps`)
        out.event({ type: 'untagged', name })
        return 0
      }
      case 'ls': {
        if (args.length > 1) throw new UsageError('tag ls takes at most a prefix')
        for await (const { name, value } of store.tags.list(args[0])) {
          out.event({ type: 'tag', name, hash: toHex(value.hash), format: value.format })
          out.result(`${name}  ${toHex(value.hash)}  ${value.format}`)
        }
        return 0
      }
      default:
        throw new UsageError(action === undefined ? 'tag needs set, rm or ls' : `tag: unknown action ${action} (set, rm or ls)`)
    }
  })
}

/**
 * `verity gc [--dry-run]`: delete what no tag keeps (with a collection's files); prints the hashes
 * deleted, or with --dry-run those it would delete, deleting nothing.
 */
export async function gc (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { 'dry-run': {} })
  if (parsed.positionals.length > 0) throw new UsageError('gc takes no arguments')
  const dryRun = has(parsed, 'dry-run')
  return await withStore(parsed, ctx, async (store, out) => {
    const sizes = new Map<string, number>()
    for await (const { hash, status } of store.list()) if (status.status !== 'absent') sizes.set(toHex(hash), status.size)
    const { deleted } = await store.gc({ dryRun })
    let freed = 0
    for (const hex of deleted) {
      freed += sizes.get(hex) ?? 0
      out.result(hex)
      out.event({ type: dryRun ? 'wouldDelete' : 'deleted', hash: hex, size: sizes.get(hex) ?? 0 })
    }
    const blobs = `${deleted.length} blob${deleted.length === 1 ? '' : 's'} (${size(freed)})`
    out.say(dryRun ? `would delete ${blobs}; ${sizes.size - deleted.length} kept; nothing deleted (--dry-run)` : `deleted ${blobs}; ${sizes.size - deleted.length} kept`)
    return 0
  })
}
