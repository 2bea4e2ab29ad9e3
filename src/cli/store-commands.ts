import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { CHUNK_SIZE } from '../../store/bao/constants.js'
import { FsStore } from '../../store/fs-store.js'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore, HashAndFormat } from '../../store/interface.js'
import type { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { bytesOf } from '../../store/ranges/coverage.js'
import { BlobTicket, type SocketAddr } from '../ticket.js'
import { dataDir, flag, has, hashOrTicket, Interrupted, interruptSignal, Output, parseArgs, size, UsageError, type Io, type Parsed } from './common.js'
import { filesOf, writeOut } from './files.js'

/** The store of a data directory, opened without a network node (add, ls, tag, gc, verify, cat). */
export async function openStore (dir: string): Promise<FsStore> {
  return await FsStore.open(join(dir, 'store'))
}

/** What a command line names: a ticket's hash and format, or a bare hash (a collection with `--collection`). */
function named (text: string, collection: boolean): HashAndFormat {
  const { hash, format, ticket } = hashOrTicket(text)
  return { hash, format: ticket === undefined && collection ? 'hashseq' : format }
}

/** The format a tag gives this hash (a collection stays one), else what was asked. */
async function knownFormat (store: BlobStore, value: HashAndFormat): Promise<HashAndFormat> {
  if (value.format === 'hashseq') return value
  const hex = toHex(value.hash)
  for await (const tag of store.tags.list()) {
    if (tag.value.format === 'hashseq' && toHex(tag.value.hash) === hex) return tag.value
  }
  return value
}

/**
 * Where a store command runs: on its own (the data directory's store opened here, SIGINT ends
 * it), or inside the `serve` or `send` that holds the store, for a client on its control socket.
 */
export interface CommandContext {
  io?: Io
  /** The running node's store, already open. */
  store?: BlobStore
  /** The running node's tickets (its key and addresses). */
  ticket?: (value: HashAndFormat) => BlobTicket
  /** Ends the command (the control client went away). */
  signal?: AbortSignal
  /** What relative paths are relative to. @default process.cwd() */
  cwd?: string
  /**
   * Another process holds the data directory's store: have it run the command, and end with its
   * exit code (undefined: nobody answered, and StoreLocked stands).
   */
  held?: (dir: string) => Promise<number | undefined>
}

/** Run `fn` with the store: the context's, or the data directory's opened (no network node) and closed after. */
async function withStore (parsed: Parsed, ctx: CommandContext, fn: (store: BlobStore, out: Output) => Promise<number>): Promise<number> {
  const out = new Output(parsed, ctx.io)
  if (ctx.store !== undefined) return await fn(ctx.store, out)
  const dir = dataDir(parsed)
  let store: BlobStore
  try {
    store = await openStore(dir)
  } catch (err) {
    const code = (err as Error).name === 'StoreLocked' ? await ctx.held?.(dir) : undefined
    if (code !== undefined) return code
    throw err
  }
  try {
    return await fn(store, out)
  } finally {
    await store.close()
  }
}

/** The context's signal, or Ctrl-C's. */
function interruptOf (ctx: CommandContext): { signal: AbortSignal, dispose: () => void } {
  return ctx.signal !== undefined ? { signal: ctx.signal, dispose: () => {} } : interruptSignal()
}

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
 * `verity add <path...> [--in-place] [--tag name]`: files become tagged blobs, directories tagged
 * collections; prints `hash  path` per argument.
 */
export async function add (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { 'in-place': {}, tag: { value: true } })
  if (parsed.positionals.length === 0) throw new UsageError('verity add needs at least one file or directory')
  const tag = flag(parsed, 'tag')
  if (tag !== undefined && parsed.positionals.length > 1) throw new UsageError('--tag names one thing: give one path')
  const mode = has(parsed, 'in-place') ? 'reference' : 'copy'
  const interrupt = interruptOf(ctx)
  try {
    return await withStore(parsed, ctx, async (store, out) => {
      for (const path of parsed.positionals) {
        const full = resolve(ctx.cwd ?? process.cwd(), path)
        const info = await stat(full)
        const addOne = async (file: string): Promise<{ hash: Uint8Array, size: number }> => {
          const started = performance.now()
          const handle = store.addFile(file, { mode, tag: false, signal: interrupt.signal })
          let total: number | undefined
          for await (const item of handle) {
            if (item.type === 'size') total = item.size
            else if (item.type === 'progress') out.draw(item.hashed, total, started, item.hashed)
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
    })
  } catch (err) {
    if (interrupt.signal.aborted) throw new Interrupted('interrupted; what was being added was not kept')
    throw err
  } finally {
    interrupt.dispose()
  }
}

/** `verity ls`: every blob in the store, complete or partial, with its size and tags. */
export async function ls (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, {})
  if (parsed.positionals.length > 0) throw new UsageError('verity ls takes no arguments')
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
      out.event({ type: 'blob', hash: hex, status: status.status, size: status.size, sizeVerified: proven, presentBytes: present, tags: names })
      const state = status.status === 'complete' ? 'complete' : `partial ${size(present)} of${proven ? '' : ' (declared, unproven)'}`
      out.result(`${hex}  ${state} ${size(status.size)}${names.length > 0 ? `  ${names.join(',')}` : ''}`)
    }
    return 0
  })
}

/** `verity export <hash|ticket> <path>`: a blob to a file, a collection's files under a directory. */
export async function exportCommand (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { overwrite: {}, collection: {} })
  if (parsed.positionals.length !== 2) throw new UsageError('verity export takes a hash and a path')
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

/** `verity tag set <name> <hash|ticket> | rm <name> | ls [prefix]`. */
export async function tag (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { collection: {} })
  const [action, ...args] = parsed.positionals
  return await withStore(parsed, ctx, async (store, out) => {
    switch (action) {
      case 'set': {
        if (args.length !== 2) throw new UsageError('verity tag set takes a name and a hash')
        const [name, text] = args as [string, string]
        const value = await knownFormat(store, named(text, has(parsed, 'collection')))
        if ((await store.status(value.hash)).status === 'absent') out.say(`note: ${toHex(value.hash)} is not in the store (yet); the tag keeps it once it is`)
        await store.tags.set(name, value)
        out.event({ type: 'tagged', name, hash: toHex(value.hash), format: value.format })
        return 0
      }
      case 'rm': {
        if (args.length !== 1) throw new UsageError('verity tag rm takes a name')
        const name = args[0] as string
        if (await store.tags.get(name) === undefined) throw new Error(`no tag named ${name}`)
        await store.tags.delete(name)
        out.say(`removed tag ${name}; verity gc deletes what no tag keeps`)
        out.event({ type: 'untagged', name })
        return 0
      }
      case 'ls': {
        if (args.length > 1) throw new UsageError('verity tag ls takes at most a prefix')
        for await (const { name, value } of store.tags.list(args[0])) {
          out.event({ type: 'tag', name, hash: toHex(value.hash), format: value.format })
          out.result(`${name}  ${toHex(value.hash)}  ${value.format}`)
        }
        return 0
      }
      default:
        throw new UsageError(action === undefined ? 'verity tag needs set, rm or ls' : `verity tag: unknown action ${action} (set, rm or ls)`)
    }
  })
}

/** `verity gc`: delete what no tag keeps (with a collection's files); prints the hashes deleted. */
export async function gc (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, {})
  if (parsed.positionals.length > 0) throw new UsageError('verity gc takes no arguments')
  return await withStore(parsed, ctx, async (store, out) => {
    const sizes = new Map<string, number>()
    for await (const { hash, status } of store.list()) if (status.status !== 'absent') sizes.set(toHex(hash), status.size)
    const { deleted } = await store.gc()
    let freed = 0
    for (const hex of deleted) {
      freed += sizes.get(hex) ?? 0
      out.result(hex)
      out.event({ type: 'deleted', hash: hex, size: sizes.get(hex) ?? 0 })
    }
    out.say(`deleted ${deleted.length} blob${deleted.length === 1 ? '' : 's'} (${size(freed)}); ${sizes.size - deleted.length} kept`)
    return 0
  })
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

/** `ip:port`, `[v6]:port`. */
function socketAddr (text: string): SocketAddr {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text)
  if (match === null || Number(match[2]) > 65535) throw new UsageError(`--addr takes ip:port, not ${text}`)
  return { ip: match[1] as string, port: Number(match[2]) }
}

/**
 * `verity ticket <hash>`: a ticket naming this data directory's node at the addresses of the
 * `serve` or `send` running on it (which runs this command, through its control socket, and so
 * can check the blob is there), or at those given with --addr.
 */
export async function ticket (argv: string[], ctx: CommandContext = {}): Promise<number> {
  const parsed = parseArgs(argv, { collection: {}, addr: { value: true, many: true } })
  if (parsed.positionals.length !== 1) throw new UsageError('verity ticket takes one hash')
  const given = (parsed.flags.get('addr') ?? []).map(socketAddr)
  return await withStore(parsed, ctx, async (store, out) => {
    const value = await knownFormat(store, named(parsed.positionals[0] as string, has(parsed, 'collection')))
    const status = await store.status(value.hash)
    if (status.status === 'absent') throw new Error(`${toHex(value.hash)} is not in the store`)
    if (status.status === 'partial') out.say(`note: only part of ${toHex(value.hash)} is here; a fetch with this ticket gets what is`)
    let made: BlobTicket
    if (ctx.ticket !== undefined) {
      const running = ctx.ticket(value)
      made = given.length === 0 ? running : new BlobTicket({ nodeId: running.nodeId, addrs: given, hash: value.hash, format: value.format })
    } else {
      if (given.length === 0) throw new Error(`no verity serve or send is running on ${dataDir(parsed)} to answer for the ticket: start verity serve there, or give --addr ip:port`)
      // Loaded here only: the key library is large, and the other store commands do without it.
      const { loadOrCreateIdentity } = await import('../node/identity.js')
      const key = await loadOrCreateIdentity(dataDir(parsed))
      made = new BlobTicket({ nodeId: key.publicKey.raw, addrs: given, hash: value.hash, format: value.format })
    }
    out.event({ type: 'ticket', ticket: made.toString(), hash: toHex(value.hash), format: value.format })
    out.result(made.toString())
    return 0
  })
}

/** The store commands a running `serve` or `send` runs for clients of its control socket. */
export const STORE_COMMANDS: Record<string, (argv: string[], ctx?: CommandContext) => Promise<number>> = {
  add, ls, export: exportCommand, tag, gc, verify, ticket
}
