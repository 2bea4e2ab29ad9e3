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
  /**
   * Values kept like tags without one: tags being written now (their `set` has begun, not
   * returned) and pinned HashSeqs (a pin alone keeps only its own blob: `pinned`).
   */
  keptAsTagged: () => Iterable<HashAndFormat>
}

/**
 * Garbage collection: mark from tags, pins and one level of HashSeq children, then delete the
 * rest. A blob whose tag was set (the call returned) before `gc()` resolves is kept, and so is a
 * blob pinned before its files go:
 *
 * 1. Mark. A value tagged or pinned meanwhile is recorded (`keep`), its HashSeq children too.
 * 2. Commit. The victims not recorded or pinned at that instant lose their entries in one backend
 *    batch; the entries are held in memory (`trash`), the files stay.
 * 3. Purge, one blob at a time under its writer lock: the files go, unless the blob was pinned
 *    since the commit, in which case its entry is put back (its files were never touched).
 *
 * From the commit until `gc()` resolves, a tag being set waits (`keep`): its blob is either kept
 * by the decision or deleted before the tag is written, never deleted under a tag already set.
 * A crash between commit and purge leaves files without entries, which FsStore removes on open.
 */
export class Collector {
  private protect: { hexes: Set<string>, queue: HashAndFormat[] } | undefined
  /** Committed victims whose files are not yet purged, with the entries to restore them from. */
  private readonly trash = new Map<string, Entry>()
  private run: Promise<GcResult> | undefined
  /** From the commit until the run ends: tags being set wait for it. */
  private sweeping: Promise<void> | undefined

  constructor (private readonly ctx: GcContext) {}

  /** One GC at a time; a second call shares the run in progress. */
  gc (tags: () => AsyncIterable<HashAndFormat>): Promise<GcResult> {
    this.run ??= this.collect(tags).finally(() => { this.run = undefined })
    return this.run
  }

  /**
   * What a run would delete now (a dry run): the same mark from tags, tags being set and pins,
   * nothing committed. A tag set or a pin taken after this resolves may of course change it.
   */
  async plan (tags: () => AsyncIterable<HashAndFormat>): Promise<GcResult> {
    const live = new Set<string>()
    for await (const value of tags()) await this.mark(value, live)
    for (const value of this.ctx.keptAsTagged()) await this.mark(value, live)
    const deleted: string[] = []
    for await (const [hex] of this.ctx.backend.entries()) {
      if (!live.has(hex) && !this.ctx.pinned(hex) && !this.trash.has(hex)) deleted.push(hex)
    }
    return { deleted }
  }

  /**
   * A value is about to be tagged: keep it from the GC under way. Synchronous up to its first
   * await, so a value recorded before a commit's decision is seen by it; during the deletions it
   * waits until the run is over.
   */
  async keep (value: HashAndFormat): Promise<void> {
    const protect = this.protect
    if (protect !== undefined) {
      protect.hexes.add(toHex(value.hash))
      if (value.format === 'hashseq') protect.queue.push(value)
    }
    await this.sweeping
  }

  /** Waits for a run under way (before the backend closes). */
  async settled (): Promise<void> {
    await this.run?.catch(() => {}) // the run's own caller (gc()) gets its error; closing only waits
  }

  private async collect (tags: () => AsyncIterable<HashAndFormat>): Promise<GcResult> {
    const protect = { hexes: new Set<string>(), queue: [] as HashAndFormat[] }
    this.protect = protect
    // A tag whose write began before this run (it may land after the tags are listed) counts too,
    // and so does a pinned HashSeq, whose children its pin does not hold.
    for (const value of this.ctx.keptAsTagged()) {
      protect.hexes.add(toHex(value.hash))
      if (value.format === 'hashseq') protect.queue.push(value)
    }
    let endSweep = (): void => {}
    try {
      const live = new Set<string>()
      for await (const value of tags()) await this.mark(value, live)
      const candidates: Array<{ hex: string, entry: Entry }> = []
      for await (const [hex, entry] of this.ctx.backend.entries()) {
        if (!live.has(hex) && !this.ctx.pinned(hex)) candidates.push({ hex, entry })
      }
      // HashSeqs tagged during the mark keep their children.
      while (protect.queue.length > 0) await this.mark(protect.queue.shift() as HashAndFormat, protect.hexes)
      // The decision, with no await between it and the start of the sweep: what is recorded or
      // pinned now stays; a tag set from here on waits for the run to end.
      const victims = candidates.filter(({ hex }) => !protect.hexes.has(hex) && !this.ctx.pinned(hex))
      this.sweeping = new Promise(resolve => { endSweep = resolve })
      for (const { hex, entry } of victims) this.trash.set(hex, entry)
      try {
        await this.ctx.backend.deleteEntries(victims.map(v => v.hex))
      } catch (err) {
        for (const { hex } of victims) this.trash.delete(hex)
        throw err
      }
      for (const { hex } of victims) this.ctx.changed(hex, undefined)
      const deleted: string[] = []
      for (const { hex } of victims) if (await this.purge(hex)) deleted.push(hex)
      return { deleted }
    } finally {
      this.protect = undefined
      this.sweeping = undefined
      endSweep()
    }
  }

  /** Remove a committed victim's files, or put its entry back if it was pinned since; whether it went. */
  private async purge (hex: string): Promise<boolean> {
    return await this.ctx.exclusive(hex, async () => {
      const entry = this.trash.get(hex)
      this.trash.delete(hex)
      if (entry === undefined) return false
      if (await this.ctx.backend.getEntry(hex) !== undefined) return false // added again since: its files are in use
      if (this.ctx.pinned(hex)) {
        await this.ctx.backend.putEntry(hex, entry)
        this.ctx.changed(hex, entry)
        return false
      }
      try {
        await this.ctx.backend.removeBlob(hex)
      } catch {
        // Files that cannot be removed now are orphans (no entry): FsStore removes them on open.
      }
      return true
    })
  }

  /** Mark a value and, for a complete HashSeq, its children. */
  private async mark (value: HashAndFormat, live: Set<string>): Promise<void> {
    live.add(toHex(value.hash))
    if (value.format !== 'hashseq') return
    let reader: HashSeqReader
    try {
      // No size limit here: the limit bounds what a peer may ask to read, not what a tag keeps.
      reader = await HashSeqReader.open(this.ctx.store, value.hash, Infinity)
    } catch (err) {
      // Not here, not complete, or not a HashSeq: nothing to keep below it. Anything else (a
      // read that failed) ends this GC before it deletes anything.
      if ((err as Error).name === 'NotFound' || (err as Error).name === 'InvalidHashSeq') return
      throw err
    }
    for await (const child of reader) live.add(toHex(child))
  }
}
