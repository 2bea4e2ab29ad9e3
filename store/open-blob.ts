import { CHUNK_SIZE, GROUP_SIZE, PAIR_SIZE } from './bao/constants.js'
import { MissingRange } from './bao/errors.js'
import { preOrderPairs, type PairSource } from './bao/pair-source.js'
import type { RandomAccess } from './bao/random-access.js'
import type { LocalBlob } from './bao/validated-walk.js'
import type { Backend, BlobFile } from './backend.js'
import type { Entry } from './entry.js'
import { NotFound } from './errors.js'
import { toHex } from './hash-text.js'

/** An opened blob: its entry, what a validated walk needs, and how to let go of its files. */
export interface OpenBlob { entry: Entry, blob: LocalBlob, close: () => Promise<void> }

/**
 * Everything a validated walk needs to read a blob, complete or partial: its data (inline, a file
 * of the store's, or a file referenced in place) and its pairs (the pre-order outboard, or the
 * in-order pairs file and the pairs inside partly present groups). NotFound when it is absent;
 * files opened before a failure are closed.
 */
export async function openBlob (backend: Backend, hash: Uint8Array, entry: Entry | undefined): Promise<OpenBlob> {
  const hex = toHex(hash)
  if (entry === undefined) throw new NotFound(hex)
  const files: BlobFile[] = []
  const keep = <T extends BlobFile | undefined>(file: T): T => { if (file !== undefined) files.push(file); return file }
  const close = async (): Promise<void> => { for (const file of files) await file.close() }
  try {
    let data: Uint8Array | RandomAccess
    if (entry.inlineData !== undefined) data = entry.inlineData
    else if (entry.externalPath !== undefined) data = keep(await backend.openExternal(entry.externalPath))
    else data = keep(await backend.openData(hex, false)) ?? missingFile(hex, 'data')
    let pairs: Uint8Array | RandomAccess | PairSource
    if (entry.complete) {
      if (entry.inlineOutboard !== undefined || entry.size <= GROUP_SIZE) pairs = entry.inlineOutboard ?? new Uint8Array(0)
      else pairs = preOrderPairs(keep(await backend.openOutboard(hex)) ?? missingFile(hex, 'outboard'))
    } else {
      const pairFile = keep(await backend.openPairs(hex, false))
      const chunkPairs = entry.chunkPairs
      pairs = {
        readPair: async (node: number) => {
          if (pairFile === undefined) throw new MissingRange(0, Math.ceil(entry.size / CHUNK_SIZE))
          return pairFile.readAt((node - 1) / 2 * PAIR_SIZE, PAIR_SIZE)
        },
        readChunkPair: (node: number) => chunkPairs.get(node)
      }
    }
    const blob: LocalBlob = { hash, size: entry.size, data, pairs, ...(entry.complete ? {} : { present: entry.present }) }
    return { entry, blob, close }
  } catch (err) {
    await close()
    throw err
  }
}

/** A file the entry names is not there. */
export function missingFile (hex: string, kind: string): never {
  throw new NotFound(hex, `the ${kind} of blob ${hex} is missing from the store`)
}
