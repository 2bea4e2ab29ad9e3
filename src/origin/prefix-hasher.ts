import type { FileHandle } from 'node:fs/promises'
import { OutboardBuilder, type HashedBlob } from '../../store/bao/outboard.js'

/** Bytes read back and hashed per step. */
const STEP = 1 << 20

/**
 * Hashes a file into its BLAKE3 tree while it is being written out of order: told how long the
 * written prefix is (`advance`), it reads the file from where it stopped up to there and hashes
 * it, in the background, one step at a time (bytes just written and next in line are hashed from
 * memory instead). Memory: one step's buffer and the outboard (64 bytes per 16 KiB).
 */
export class PrefixHasher {
  private readonly builder: OutboardBuilder
  private readonly buffer: Uint8Array
  private hashed = 0
  private target = 0
  private running: Promise<void> | undefined
  private failure: { error: unknown } | undefined

  constructor (private readonly handle: FileHandle, private readonly size: number) {
    this.builder = new OutboardBuilder({ size })
    this.buffer = new Uint8Array(Math.min(STEP, Math.max(size, 1)))
  }

  /** Bytes hashed so far. */
  get position (): number {
    return this.hashed
  }

  /**
   * Bytes [0, end) are in the file: hash them as far as that. `written`, the bytes just written
   * (and read back from the file otherwise), is hashed from memory when it is next in line and
   * nothing else is being hashed: no read.
   */
  advance (end: number, written?: { offset: number, bytes: Uint8Array }): void {
    if (end > this.target) this.target = Math.min(end, this.size)
    if (written !== undefined && written.offset === this.hashed && this.running === undefined && this.failure === undefined) {
      const take = Math.min(written.bytes.length, this.target - this.hashed)
      this.builder.update(written.bytes.subarray(0, take))
      this.hashed += take
    }
    this.kick()
  }

  /** The hash and outboard once the whole file is hashed; the first read error if one failed. */
  async finish (): Promise<HashedBlob> {
    this.advance(this.size)
    while (this.running !== undefined) await this.running
    if (this.failure !== undefined) throw this.failure.error
    if (this.hashed !== this.size) throw new Error(`hashed ${this.hashed} of ${this.size} bytes`)
    return this.builder.finish()
  }

  /** Start hashing unless it runs, failed, or has caught up (it looks again each time a run ends). */
  private kick (): void {
    if (this.running !== undefined || this.failure !== undefined || this.hashed >= this.target) return
    this.running = this.run().catch(err => { this.failure = { error: err } }).finally(() => {
      this.running = undefined
      this.kick()
    })
  }

  private async run (): Promise<void> {
    while (this.hashed < this.target) {
      const want = Math.min(this.buffer.length, this.target - this.hashed)
      const { bytesRead } = await this.handle.read(this.buffer, 0, want, this.hashed)
      if (bytesRead === 0) throw new Error(`the staged file ends at ${this.hashed} bytes, before the ${this.target} written`)
      this.builder.update(this.buffer.subarray(0, bytesRead))
      this.hashed += bytesRead
    }
  }
}
