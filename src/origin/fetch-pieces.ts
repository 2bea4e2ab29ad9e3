import type { Logger } from '@libp2p/interface'
import { OriginBadResponse } from './errors.js'
import type { GuardedBackend } from './guard.js'
import type { ByteRange, Validators } from './interface.js'
import type { PrefixHasher } from './prefix-hasher.js'
import type { StagedFile } from './staging.js'

/** Bytes gathered per write to the staged file, at most; and for at most so long. */
const WRITE_BATCH = 1 << 20
const BATCH_MS = 100

/** What fetching a file's pieces needs. */
export interface PieceJob {
  backend: GuardedBackend
  headers: Record<string, string> | undefined
  /** The version being fetched: another one is OriginChanged. */
  expect: Validators
  safeUrl: string
  staged: StagedFile
  hasher: PrefixHasher
  concurrency: number
  /** Save progress this often while bytes arrive (and once at the end). */
  checkpointMs: number
  signal: AbortSignal
  log: Logger
  /** A piece is in: its index, and the bytes staged now of the whole file. */
  onPiece: (index: number, staged: number) => void
}

/**
 * Fetch the pieces the staged file lacks, `concurrency` at a time, each with one ranged get from
 * where it stopped, into the file at its offset; the hasher follows the written prefix. The first
 * failure stops the other pieces and is thrown once all have stopped; progress is saved at the
 * end either way, so a new import resumes from it. Returns the bytes fetched.
 */
export async function fetchPieces (job: PieceJob): Promise<number> {
  const { staged } = job
  const todo = staged.pieces.map((_, index) => index).filter(index => (staged.done[index] as number) < (staged.pieces[index] as ByteRange).length)
  const stop = new AbortController()
  const signal = AbortSignal.any([job.signal, stop.signal])
  let failure: { error: unknown } | undefined
  const fail = (err: unknown): void => {
    if (failure !== undefined) return
    failure = { error: err }
    stop.abort(err)
  }
  let fetched = 0
  let total = staged.resumed
  let firstOpen = 0
  /** Where the written prefix ends: the first piece not complete, and how far it got. */
  const prefix = (): number => {
    while (firstOpen < staged.pieces.length && staged.done[firstOpen] === (staged.pieces[firstOpen] as ByteRange).length) firstOpen++
    const piece = staged.pieces[firstOpen]
    return piece === undefined ? staged.size : piece.offset + (staged.done[firstOpen] as number)
  }
  job.hasher.advance(prefix())

  const fetchPiece = async (index: number): Promise<void> => {
    const piece = staged.pieces[index] as ByteRange
    const asked = piece.length - (staged.done[index] as number)
    // Chunks (64 KiB from a socket) are gathered into writes of up to WRITE_BATCH (a sixteenth of
    // the system calls), or of what came in BATCH_MS from a slow origin (so a kill loses little).
    const batch = new Uint8Array(Math.min(WRITE_BATCH, asked))
    let filled = 0
    let flushedAt = performance.now()
    const flush = async (): Promise<void> => {
      flushedAt = performance.now()
      if (filled === 0) return
      const done = staged.done[index] as number
      const bytes = batch.subarray(0, filled)
      await staged.writeAt(piece.offset + done, bytes)
      staged.done[index] = done + filled
      fetched += filled
      total += filled
      filled = 0
      job.hasher.advance(prefix(), { offset: piece.offset + done, bytes })
    }
    for await (const chunk of job.backend.get({ range: { offset: piece.offset + (staged.done[index] as number), length: asked }, expect: job.expect, signal, ...(job.headers === undefined ? {} : { headers: job.headers }) })) {
      if ((staged.done[index] as number) + filled + chunk.length > piece.length) throw new OriginBadResponse(job.safeUrl, `more than the ${asked} bytes asked for at ${piece.offset + piece.length - asked}`)
      for (let at = 0; at < chunk.length;) {
        const take = Math.min(batch.length - filled, chunk.length - at)
        batch.set(chunk.subarray(at, at + take), filled)
        filled += take
        at += take
        if (filled === batch.length) await flush()
      }
      if (filled > 0 && performance.now() - flushedAt >= BATCH_MS) await flush()
    }
    await flush()
    const got = (staged.done[index] as number) - (piece.length - asked)
    if (got !== asked) throw new OriginBadResponse(job.safeUrl, `${got} of the ${asked} bytes asked for at ${piece.offset + piece.length - asked}`)
  }

  const worker = async (): Promise<void> => {
    for (let index = todo.shift(); index !== undefined && failure === undefined; index = todo.shift()) {
      await fetchPiece(index)
      job.onPiece(index, total)
    }
  }

  let saved = total
  const timer = setInterval(() => {
    if (total === saved) return
    saved = total
    staged.checkpoint().catch(fail) // a disk that cannot keep progress fails the import
  }, job.checkpointMs)
  try {
    await Promise.all(Array.from({ length: Math.min(job.concurrency, todo.length) }, async () => { await worker().catch(fail) }))
  } finally {
    clearInterval(timer)
  }
  try {
    await staged.checkpoint()
  } catch (err) {
    fail(err)
  }
  if (failure !== undefined) {
    job.log('fetching %s stopped after %d bytes (%d staged of %d): %s', job.safeUrl, fetched, total, staged.size, (failure.error as Error).message)
    throw failure.error
  }
  return fetched
}
