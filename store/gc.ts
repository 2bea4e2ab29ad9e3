import type { Backend } from './backend.js'
import type { Entry } from './entry.js'
import { HashSeqReader } from './hash-seq.js'
import { toHex } from './hash-text.js'
import type { BlobStore, GcResult, HashAndFormat } from './interface.js'

/** What the collector needs of its store. */
export interface GcContext {
  backend: Backend
  /** Runs `fn` alone among the writers of this blob. */
  exclusive: <T>(hex: string, fn: () => Promise<T>) => Promise<T>
  /** Whether a temp tag (pin) holds the blob now. */
  pinned: (hex: string) => boolean
  /** Reads a HashSeq's children (the store itself). */
  store: Pick<BlobStore, 'status' | 'reader'>
  /** The blob's entry is gone (or back): tell its observers. */
  changed: (hex: string, entry: Entry | undefined) => void
}

/**
 * Garbage collection: mark from tags, pins and one level of HashSeq children, then delete the
 * rest, such that a blob tagged or pinned at any moment before `gc()` resolves is kept.
 *
 * 1. Mark. A value tagged or pinned meanwhile is recorded (`protect`), its HashSeq children too.
 * 2. Commit. The victims not protected or pinned at that instant lose their entries in one
 *    backend batch; their entries are kept in memory (`trash`) and their files stay. `gc()`
 *    resolves here, with the victims as `deleted`.
 * 3. Purge, after `gc()` resolved, one blob at a time under its writer lock: the files go, unless
 *    the blob was tagged or pinned since the commit, in which case its entry is put back (it was
 *    never partly deleted: its files were untouched). A tag set before `gc()` resolved thus
 *    always finds its blob's files and restores the entry before the purge reaches it.
 *
 * A crash between commit and purge leaves files without entries, which FsStore removes on open.
 */
export class Collector {
  private protect: { hexes: Set<string>, queue: HashAndFormat[] } | undefined
  /** Committed victims whose files are not yet purged, with the entries to restore them from. */
  private readonly trash = new Map<string, Entry>()
  private run: Promise<GcResult> | undefined
  private committing: Promise<void> | undefined
  private purging: Promise<void> = Promise.resolve()

  constructor (private readonly ctx: GcContext) {}

  /** One GC at a time; a second call shares the run in progress. */
  gc (tags: () => AsyncIterable<HashAndFormat>): Promise<GcResult> {
    this.run ??= this.collect(tags).finally(() => { this.run = undefined })
    return this.run
  }

  /**
   * A value was just tagged or pinned: keep it from the GC under way, and bring it (and, for a
   * HashSeq, its children) back if a commit already took its entry. Synchronous up to its first
   * await, so a tag or pin taken before a commit's decision is seen by it.
   */
  async keep (value: HashAndFormat): Promise<void> {
    const protect = this.protect
    if (protect !== undefined) {
      protect.hexes.add(toHex(value.hash))
      if (value.format === 'hashseq') protect.queue.push(value)
    }
    if (this.trash.size === 0 && this.committing === undefined) return
    await this.committing
    await this.restore(toHex(value.hash))
    if (value.format !== 'hashseq') return
    const children = await this.children(value.hash)
    for (const child of children) await this.restore(toHex(child))
  }

  /** Waits for files of committed victims to be purged (before the backend closes). */
  async settled (): Promise<void> {
    await this.run?.catch(() => {})
    await this.purging
  }

  private async collect (tags: () => AsyncIterable<HashAndFormat>): Promise<GcResult> {
    const protect = { hexes: new Set<string>(), queue: [] as HashAndFormat[] }
    this.protect = protect
    try {
      const live = new Set<string>()
      for await (const value of tags()) await this.mark(value, live)
      const candidates: Array<{ hex: string, entry: Entry }> = []
      for await (const [hex, entry] of this.ctx.backend.entries()) {
        if (!live.has(hex) && !this.ctx.pinned(hex)) candidates.push({ hex, entry })
      }
      // HashSeqs tagged during the mark keep their children.
      while (protect.queue.length > 0) await this.mark(protect.queue.shift() as HashAndFormat, protect.hexes)
      // The decision, with no await between it and the commit's start: what is protected or
      // pinned now stays; a tag or pin from here on waits for the commit, then restores.
      const victims = candidates.filter(({ hex }) => !protect.hexes.has(hex) && !this.ctx.pinned(hex))
      for (const { hex, entry } of victims) this.trash.set(hex, entry)
      const commit = this.ctx.backend.deleteEntries(victims.map(v => v.hex))
      this.committing = commit.catch(() => {})
      try {
        await commit
      } catch (err) {
        for (const { hex } of victims) this.trash.delete(hex)
        throw err
      } finally {
        this.committing = undefined
      }
      for (const { hex } of victims) this.ctx.changed(hex, undefined)
      const deleted = victims.map(v => v.hex)
      // After gc() resolves: a tag set before that is queued on the blob's lock ahead of its purge.
      this.purging = this.purging.then(() => new Promise(resolve => setImmediate(resolve))).then(() => this.purge(deleted))
      return { deleted }
    } finally {
      this.protect = undefined
    }
  }

  private async purge (hexes: string[]): Promise<void> {
    for (const hex of hexes) {
      await this.ctx.exclusive(hex, async () => {
        const entry = this.trash.get(hex)
        if (entry === undefined) return // restored already
        if (this.ctx.pinned(hex)) return await this.putBack(hex, entry)
        this.trash.delete(hex)
        // Added again since the commit (an import or an add made a new entry): its files are in use.
        if (await this.ctx.backend.getEntry(hex) !== undefined) return
        await this.ctx.backend.removeBlob(hex)
      }).catch(() => {
        // A file that cannot be removed now is an orphan: FsStore removes it on the next open.
      })
    }
  }

  /** Put a trashed blob's entry back, unless a new one was made since. */
  private async restore (hex: string): Promise<void> {
    if (!this.trash.has(hex)) return
    await this.ctx.exclusive(hex, async () => {
      const entry = this.trash.get(hex)
      if (entry !== undefined) await this.putBack(hex, entry)
    })
  }

  private async putBack (hex: string, entry: Entry): Promise<void> {
    if (await this.ctx.backend.getEntry(hex) === undefined) {
      await this.ctx.backend.putEntry(hex, entry)
      this.ctx.changed(hex, entry)
    }
    this.trash.delete(hex)
  }

  /** Mark a value and, for a complete HashSeq, its children. */
  private async mark (value: HashAndFormat, live: Set<string>): Promise<void> {
    live.add(toHex(value.hash))
    if (value.format !== 'hashseq') return
    for (const child of await this.children(value.hash)) live.add(toHex(child))
  }

  /** A complete HashSeq's children; none for anything else (a partial one, a raw blob tagged as one). */
  private async children (hash: Uint8Array): Promise<Uint8Array[]> {
    const children: Uint8Array[] = []
    let reader: HashSeqReader
    try {
      reader = await HashSeqReader.open(this.ctx.store, hash)
    } catch {
      return children // not here, not complete, or not a HashSeq: nothing to keep below it
    }
    for await (const child of reader) children.push(child)
    return children
  }
}
