import { open, type FileHandle } from 'node:fs/promises'
import type { BlobFile } from './backend.js'

/** Bytes read ahead on a miss, so walking a blob group by group makes few system calls. */
const READ_AHEAD = 1 << 20

/** A file as a BlobFile: positional reads (with read-ahead) and writes, fdatasync. */
export class FsFile implements BlobFile {
  private window: { offset: number, bytes: Uint8Array } | undefined

  private constructor (private readonly handle: FileHandle) {}

  static async open (path: string, flags: 'r' | 'r+' | 'w+'): Promise<FsFile> {
    return new FsFile(await open(path, flags))
  }

  async readAt (offset: number, length: number): Promise<Uint8Array> {
    const w = this.window
    if (w !== undefined && offset >= w.offset && offset + length <= w.offset + w.bytes.length) {
      return w.bytes.subarray(offset - w.offset, offset - w.offset + length)
    }
    const want = Math.max(length, READ_AHEAD)
    const buffer = new Uint8Array(want)
    let filled = 0
    while (filled < want) {
      const { bytesRead } = await this.handle.read(buffer, filled, want - filled, offset + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    if (filled < length) throw new RangeError(`read of ${length} bytes at ${offset} went past the end of the file`)
    this.window = { offset, bytes: buffer.subarray(0, filled) }
    return buffer.subarray(0, length)
  }

  async writeAt (offset: number, bytes: Uint8Array): Promise<void> {
    this.window = undefined
    let written = 0
    while (written < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, offset + written)
      written += bytesWritten
    }
  }

  async sync (): Promise<void> {
    await this.handle.datasync()
  }

  async close (): Promise<void> {
    await this.handle.close()
  }
}
