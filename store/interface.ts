import type { ProgressEvent } from 'progress-events'
import type { ByteReader } from './bao/byte-reader.js'
import type { HashedBlob } from './bao/outboard.js'
import type { ChunkRanges } from './ranges/chunk-ranges.js'

/** How a blob is to be read: raw bytes, or a HashSeq whose children belong to it. */
export type BlobFormat = 'raw' | 'hashseq'

export interface HashAndFormat {
  hash: Uint8Array
  format: BlobFormat
}

export interface AbortOptions {
  signal?: AbortSignal
}

/** What the store holds of a blob. `size` is known once any part arrived (proven when complete). */
export type BlobStatus =
  | { status: 'absent' }
  | { status: 'partial', size: number, sizeVerified: boolean }
  | { status: 'complete', size: number }

/** Which chunks of a blob are present. Complete is `{ size, ranges: all }`. */
export interface Bitfield {
  /** Declared size; 0 for an absent blob. */
  size: number
  sizeVerified: boolean
  /** Present chunks, canonical: a set holding the last chunk is open-ended. */
  ranges: ChunkRanges
}

/**
 * What an add reports while it runs, in js-libp2p's progress event shape (`{ type, detail }`):
 * `add:progress` as bytes are read and hashed (`copied` into the store: 0 for an add in place),
 * with `total` when the size is known up front (bytes and files; not a stream); `add:done` last.
 */
export type AddProgress =
  | ProgressEvent<'add:progress', { hashed: number, copied: number, total?: number }>
  | ProgressEvent<'add:done', AddResult>

export interface AddResult {
  hash: Uint8Array
  size: number
  /** The tag that keeps the blob alive, unless `tag: false` was asked. */
  tag: string | undefined
}

/** A long add: await it for the result, or iterate it for progress (ending with `done`). */
export interface AddHandle extends PromiseLike<AddResult>, AsyncIterable<AddProgress> {}

export interface AddOptions extends AbortOptions {
  /** Tag name to set; `false` for none (then pin it or lose it to GC). @default an automatic name */
  tag?: string | false
  format?: BlobFormat
}

export interface AddFileOptions extends AddOptions {
  /** Copy the file into the store, or leave it where it is and hash it in place. @default 'copy' */
  mode?: 'copy' | 'reference'
}

export interface BatchOptions extends AbortOptions {
  /**
   * Let the store read into buffers it fills again (a file's groups into two reused windows): a
   * batch's slices are then valid only until the next batch is asked for. For a consumer that
   * copies each batch at once (the provider does), so that serving allocates nothing per 256 KiB.
   */
  transient?: boolean
}

export interface ReadOptions extends AbortOptions {
  offset?: number
  length?: number
}

export interface ImportResult {
  /** Verified bytes this import wrote. */
  bytesWritten: number
  complete: boolean
}

/** A pin that keeps a blob from GC until released (or the process exits). */
export interface TempTag {
  readonly value: HashAndFormat
  release: () => void
}

export interface Tags {
  set: (name: string, value: HashAndFormat) => Promise<void>
  get: (name: string) => Promise<HashAndFormat | undefined>
  delete: (name: string) => Promise<void>
  list: (prefix?: string) => AsyncIterable<{ name: string, value: HashAndFormat }>
  /** A new tag with an automatic, unique name. */
  create: (value: HashAndFormat) => Promise<string>
}

export interface GcOptions {
  /** Only say what would be deleted now: the same mark, nothing deleted. @default false */
  dryRun?: boolean
}

export interface GcResult {
  /** Hashes (hex) of the blobs deleted (with `dryRun`, of those that would be). */
  deleted: string[]
}

export interface VerifyOptions extends AbortOptions {
  /**
   * Drop what does not verify: bad groups of a blob kept in the store become missing (a later
   * fetch brings them back); a blob with nothing good left, a small inlined one, or one added by
   * reference whose file changed is removed. Tags are left alone.
   */
  repair?: boolean
}

export interface VerifyResult {
  /** Bytes read again and found to match the hash. */
  checkedBytes: number
  /** Chunks whose data or pairs do not match, in whole 16 KiB groups; empty when all is well. */
  bad: ChunkRanges
  /** Why reading stopped early (a referenced file shrank or is gone); all from there on is in `bad`. */
  error?: string
  /** With `repair` and something bad: the bad groups are now missing, or the blob is gone. */
  repaired?: 'ranges' | 'removed'
}

export interface CollectionEntry {
  name: string
  hash: Uint8Array
}

/** The blob store: MemStore and FsStore implement it and pass one shared test suite. */
export interface BlobStore {
  /**
   * Grows with every change to a blob's entry (added, imported, repaired, collected): a figure
   * counted over the whole store is still true while this has not moved.
   */
  readonly revision: number
  addBytes: (bytes: Uint8Array, options?: AddOptions) => AddHandle
  addFile: (path: string, options?: AddFileOptions) => AddHandle
  addStream: (stream: AsyncIterable<Uint8Array>, options?: AddOptions) => AddHandle
  /**
   * Move a file in as the blob `hashed` says it is (its hash, size and pre-order outboard, which
   * the caller computed from the file's bytes, e.g. with an OutboardBuilder), without reading it
   * again: the claim is trusted, hence the name. Every read still checks each byte against the
   * hash, so a false claim makes a blob that fails to read, never wrong bytes. FsStore renames the
   * file in (fdatasync first; a copy from another file system), MemStore reads it in. The file is
   * gone from `path` once this resolves, and left there if it fails.
   */
  adoptFileUnchecked: (path: string, hashed: HashedBlob, options?: AddOptions) => Promise<AddResult>
  /** The whole blob, verified. */
  getBytes: (hash: Uint8Array, options?: AbortOptions) => Promise<Uint8Array>
  /** Verified bytes of a range of the blob (the whole blob by default). */
  reader: (hash: Uint8Array, options?: ReadOptions) => AsyncIterable<Uint8Array>
  /**
   * The verified blob as the file `path`: written to a new file beside it (exclusive, random name,
   * never through a symlink), then renamed onto it, so a file or symlink at `path` is replaced,
   * never written through. The directories on the way are the caller's to trust.
   */
  exportFile: (hash: Uint8Array, path: string, options?: AbortOptions) => Promise<void>
  /** The encoded stream (PROTOCOL.md section 4) of `ranges`; MissingRange after the valid prefix. */
  exportBao: (hash: Uint8Array, ranges: ChunkRanges, options?: AbortOptions) => AsyncIterable<Uint8Array>
  /**
   * The same encoded stream as exportBao, as batches of slices (about 256 KiB a batch): the size
   * header, pairs and views of the stored groups, each checked, none copied. For a consumer that
   * copies what it sends (the provider gathers frames), so that it pays each step of its pipeline
   * once per batch rather than once per 16 KiB group and once per pair. The slices are the
   * caller's to keep, unless it asks for `transient` ones. Optional: the provider and push read a
   * store without it through exportBao. A wrapper that changes what exportBao yields must change
   * or hide this too (a subclass of the stores here that overrides exportBao need not: theirs then
   * batches its exportBao's pieces).
   */
  exportBaoBatches?: (hash: Uint8Array, ranges: ChunkRanges, options?: BatchOptions) => AsyncIterable<Uint8Array[]>
  /**
   * Verify an encoded stream of `ranges` of `hash` and write what verifies. Given a ByteReader
   * shared with other blobs (a Get response), it reads exactly this blob's encoding.
   */
  importBao: (hash: Uint8Array, ranges: ChunkRanges, stream: AsyncIterable<Uint8Array> | ByteReader, options?: AbortOptions) => Promise<ImportResult>
  status: (hash: Uint8Array) => Promise<BlobStatus>
  bitfield: (hash: Uint8Array) => Promise<Bitfield>
  /** The current bitfield, then the latest one after each change, until aborted. */
  observe: (hash: Uint8Array, options?: AbortOptions) => AsyncIterable<Bitfield>
  list: () => AsyncIterable<{ hash: Uint8Array, status: BlobStatus }>
  readonly tags: Tags
  tempTag: (value: HashAndFormat) => TempTag
  /** Add a directory-like collection: a HashSeq of a metadata blob and the files, tagged. */
  addCollection: (entries: CollectionEntry[], options?: AddOptions) => Promise<AddResult>
  readCollection: (hash: Uint8Array) => Promise<CollectionEntry[]>
  /** Delete what no tag or pin keeps (with a tagged HashSeq's children); `dryRun` deletes nothing. */
  gc: (options?: GcOptions) => Promise<GcResult>
  /**
   * Hash the stored bytes again against the blob's hash and outboard (bit rot, a referenced file
   * edited in place) and report what does not match; NotFound when the blob is absent.
   */
  verify: (hash: Uint8Array, options?: VerifyOptions) => Promise<VerifyResult>
  close: () => Promise<void>
}
