import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { FsStore } from '../../store/fs-store.js'
import { toHex } from '../../store/hash-text.js'
import type { BlobStore, HashAndFormat } from '../../store/interface.js'
import type { Origins } from '../origin/origins.js'
import type { BlobTicket } from '../ticket.js'
import { dataDir, hashOrTicket, interruptSignal, Output, type Io, type Parsed } from './common.js'

/**
 * What every store command (store-add, store-read, store-tags, store-verify, store-ticket)
 * stands on: the store it runs with, its own or a running node's, and how it reads a blob's name.
 */

/**
 * A command that only reads or tends a store (ls, export, tag, gc, verify, ticket, cat) was
 * pointed at a data directory holding none: a typo in --data-dir, most likely. Nothing is made.
 */
export class NoStore extends Error {
  static override name = 'NoStore'
  constructor (readonly dir: string, message = `no store at ${dir}: check --data-dir (or $VERITY_DIR); verity add, get, send or serve make one there`) {
    super(message)
    this.name = 'NoStore'
  }
}

/** The store of a data directory, opened without a network node (add, ls, tag, gc, verify, cat). */
export async function openStore (dir: string, options: { create?: boolean } = {}): Promise<FsStore> {
  if (options.create !== true) await storeOrThrow(dir)
  return await FsStore.open(join(dir, 'store'))
}

/** NoStore unless `dir` holds a store (its `store` directory: FsStore's, which opening would make). */
export async function storeOrThrow (dir: string): Promise<void> {
  const found = await stat(join(dir, 'store')).then(info => info.isDirectory(), () => false)
  if (!found) throw new NoStore(dir)
}

/** What a command line names: a ticket's hash and format, or a bare hash (a collection with `--collection`). */
export function named (text: string, collection: boolean): HashAndFormat {
  const { hash, format, ticket } = hashOrTicket(text)
  return { hash, format: ticket === undefined && collection ? 'hashseq' : format }
}

/** The format a tag gives this hash (a collection stays one), else what was asked. */
export async function knownFormat (store: BlobStore, value: HashAndFormat): Promise<HashAndFormat> {
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
  /** The running node's origins (its URL index, staging and plugins), for `add <url>`. */
  origins?: Origins
  /** The running node's tickets (its key and addresses). */
  ticket?: (value: HashAndFormat) => BlobTicket
  /** Whether the running node (a serve or send --dht) announced `hash` in the DHT (`pending`: to be). */
  announced?: (hash: Uint8Array) => 'announced' | 'pending' | undefined
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

/**
 * Run `fn` with the store: the context's, or the data directory's opened (no network node) and
 * closed after; made there if missing only with `create` (a command that adds), else NoStore.
 */
export async function withStore (parsed: Parsed, ctx: CommandContext, fn: (store: BlobStore, out: Output) => Promise<number>, options: { create?: boolean } = {}): Promise<number> {
  const out = new Output(parsed, ctx.io)
  if (ctx.store !== undefined) return await fn(ctx.store, out)
  const dir = dataDir(parsed)
  let store: BlobStore
  try {
    store = await openStore(dir, options)
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
export function interruptOf (ctx: CommandContext): { signal: AbortSignal, dispose: () => void } {
  return ctx.signal !== undefined ? { signal: ctx.signal, dispose: () => {} } : interruptSignal()
}
