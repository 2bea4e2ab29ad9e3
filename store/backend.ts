import type { Entry } from './entry.js'
import type { HashAndFormat } from './interface.js'

/** Random-access bytes that can also be written; reads return buffers the caller may keep. */
export interface BlobFile {
  readAt: (offset: number, length: number) => Promise<Uint8Array>
  /** Optional: as RandomAccess.readInto, into the caller's buffer. */
  readInto?: (offset: number, target: Uint8Array) => Promise<number>
  writeAt: (offset: number, bytes: Uint8Array) => Promise<void>
  /** Make what was written durable (fdatasync for files). */
  sync: () => Promise<void>
  /**
   * Optional: `writes` to this file, then `otherWrites` to `other` (a file of the same store), in
   * order and each whole, as one operation that stops at the first failure (FsFile: one job of
   * libuv's pool in place of one per write).
   */
  writeWith?: (writes: FileWrite[], other: BlobFile, otherWrites: FileWrite[]) => Promise<void>
  /** Optional: sync this file and `other` (of the same store) as one operation. */
  syncWith?: (other: BlobFile) => Promise<void>
  close: () => Promise<void>
}

/** A write of `bytes` at `offset` of a file. */
export interface FileWrite { offset: number, bytes: Uint8Array }

/**
 * Where a store keeps things. The shared logic (store/blob-store.ts) sits on top: MemStore keeps
 * everything in maps, FsStore keeps entries and tags in LevelDB and bytes in files.
 */
export interface Backend {
  getEntry: (hex: string) => Promise<Entry | undefined>
  /**
   * Called only after the data it describes was synced. With `durable` (the default) it is on
   * disk when it resolves; without, it survives a killed process but a power cut may lose it,
   * which loses progress and never makes the entry claim more than the files hold.
   */
  putEntry: (hex: string, entry: Entry, durable?: boolean) => Promise<void>
  deleteEntry: (hex: string) => Promise<void>
  /** Delete these entries at once (FsStore: one LevelDB batch, synced): all of them or none. */
  deleteEntries: (hexes: string[]) => Promise<void>
  entries: () => AsyncIterable<[string, Entry]>

  getTag: (name: string) => Promise<HashAndFormat | undefined>
  putTag: (name: string, value: HashAndFormat) => Promise<void>
  deleteTag: (name: string) => Promise<void>
  tags: (prefix: string) => AsyncIterable<[string, HashAndFormat]>

  /** The blob's data bytes, created empty if `create`. */
  openData: (hex: string, create: boolean) => Promise<BlobFile | undefined>
  /** The partial blob's pairs, in-order (entry i = node 2i + 1), created empty if `create`. */
  openPairs: (hex: string, create: boolean) => Promise<BlobFile | undefined>
  /** The complete blob's pre-order outboard. */
  openOutboard: (hex: string) => Promise<BlobFile | undefined>
  /** Store a complete blob's outboard atomically (FsStore: temp file, fsync, rename). */
  writeOutboard: (hex: string, outboard: Uint8Array) => Promise<void>
  /** A place to write a new blob's data before it is known by hash; `adopt` moves it in. */
  tempData: () => Promise<{ file: BlobFile, adopt: (hex: string) => Promise<void>, discard: () => Promise<void> }>
  /**
   * Make the file at `path` (outside the store, on the caller's word the blob's whole data) the
   * blob's data: durable, then moved in (FsStore: fdatasync and rename, or a copy when it is on
   * another file system; MemStore: read in, then removed). Gone from `path` once this resolves.
   */
  adoptFile: (path: string, hex: string) => Promise<void>
  /** Whether bytes this small are better kept in the entry (FsStore: up to 16 KiB). */
  inlineLimit: number
  /** Remove files a blob no longer uses: pairs once complete, data once inlined, the outboard once partial again. */
  dropFiles: (hex: string, which: { pairs?: boolean, data?: boolean, outboard?: boolean }) => Promise<void>
  /** Remove the blob's data, pairs and outboard. */
  removeBlob: (hex: string) => Promise<void>
  /** Open a file outside the store read-only (references made by addFile). */
  openExternal: (path: string) => Promise<BlobFile>
  close: () => Promise<void>
}
