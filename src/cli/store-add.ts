import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore, HashAndFormat } from '../../store/interface.js'
import type { Origins } from '../origin/origins.js'
import { dataDir, flag, has, Interrupted, parseArgs, size, UsageError, type Output } from './common.js'
import { filesOf } from './files.js'
import { addUrl, isUrl, parseHeaders } from './store-add-url.js'
import { interruptOf, withStore, type CommandContext } from './store-context.js'

/**
 * `verity add <path|url...> [--in-place] [--tag name] [--filter param]... [--header 'Name: value']...
 * [--revalidate]`: files become tagged blobs, directories tagged collections, URLs are imported
 * from their origins (store-add-url.ts); prints `hash  path` per argument.
 */
export async function add (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { 'in-place': {}, tag: { value: true }, filter: { value: true, many: true }, header: { value: true, many: true, short: 'H' }, revalidate: {} })
  if (parsed.positionals.length === 0) throw new UsageError('add needs at least one file, directory or URL')
  const tag = flag(parsed, 'tag')
  if (tag !== undefined && parsed.positionals.length > 1) throw new UsageError('--tag names one thing: give one path')
  const mode = has(parsed, 'in-place') ? 'reference' : 'copy'
  const urls = parsed.positionals.filter(isUrl)
  if (urls.length > 0 && mode === 'reference') throw new UsageError('--in-place is for files here; a URL is fetched into the store')
  const headers = parseHeaders(parsed.flags.get('header') ?? [])
  const interrupt = interruptOf(ctx)
  let origins: Origins | undefined
  try {
    return await withStore(parsed, ctx, async (store, out) => {
      for (const path of parsed.positionals) {
        if (isUrl(path)) {
          origins ??= ctx.origins ?? await openOrigins(store, out, dataDir(parsed))
          await addUrl(path, store, origins, out, { filter: parsed.flags.get('filter') ?? [], headers, revalidate: has(parsed, 'revalidate'), tag, signal: interrupt.signal })
          continue
        }
        const full = resolve(ctx.cwd ?? process.cwd(), path)
        const info = await stat(full)
        const addOne = async (file: string): Promise<{ hash: Uint8Array, size: number }> => {
          const started = performance.now()
          const handle = store.addFile(file, { mode, tag: false, signal: interrupt.signal })
          for await (const item of handle) {
            if (item.type === 'add:progress') out.draw(item.detail.hashed, item.detail.total, started, item.detail.hashed)
          }
          out.clear()
          return await handle
        }
        let value: HashAndFormat
        let bytes: number
        let files = 1
        if (info.isDirectory()) {
          const entries = []
          bytes = 0
          for (const file of await filesOf(full)) {
            const added = await addOne(file.path)
            if (out.verbose) out.say(`${toHex(added.hash)}  ${file.name}`)
            entries.push({ name: file.name, hash: added.hash })
            bytes += added.size
          }
          files = entries.length
          // Names start with the directory's own name, as with send.
          const collection = await store.addCollection(entries, { tag: false })
          value = { hash: collection.hash, format: 'hashseq' }
        } else {
          const added = await addOne(full)
          value = { hash: added.hash, format: 'raw' }
          bytes = added.size
        }
        const name = tag ?? await store.tags.create(value)
        if (tag !== undefined) await store.tags.set(tag, value)
        out.say(`added ${path}: ${info.isDirectory() ? `a collection of ${files} file${files === 1 ? '' : 's'}, ` : ''}${size(bytes)}, tag ${name}`)
        out.event({ type: 'added', path, hash: toHex(value.hash), format: value.format, bytes, files, tag: name })
        out.result(`${toHex(value.hash)}  ${path}`)
      }
      return 0
    }, { create: true })
  } catch (err) {
    if (interrupt.signal.aborted && urls.length > 0) throw new Interrupted('interrupted; what was fetched is staged, run the same command again to resume')
    if (interrupt.signal.aborted) throw new Interrupted('interrupted; what was being added was not kept')
    throw err
  } finally {
    if (origins !== ctx.origins) await origins?.close()
    interrupt.dispose()
  }
}

/**
 * The data directory's origins, for a store opened here: its URL index and staging, and the
 * plugins of its plugin directory (each load said with --verbose, a plugin that failed always).
 */
async function openOrigins (store: BlobStore, out: Output, dir: string): Promise<Origins> {
  const { Origins } = await import('../origin/origins.js')
  const { verboseLogger } = await import('./verbose-logger.js')
  const origins = await Origins.create({ store, logger: verboseLogger('verity:origin', line => { if (out.verbose) out.say(line) }) }, { dataDir: dir })
  if (!out.verbose) for (const failed of origins.plugins.failed) out.say(`warning: ${failed.message}`)
  return origins
}
