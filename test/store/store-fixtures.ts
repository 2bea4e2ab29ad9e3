import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FsStore } from '../../store/fs-store.js'
import type { BlobStore } from '../../store/interface.js'
import { MemStore } from '../../store/mem-store.js'

/** The two stores, made fresh per test; the shared suite runs against each. */
export interface StoreKind {
  name: string
  make: () => Promise<BlobStore>
  cleanup: () => void
}

export function storeKinds (): StoreKind[] {
  const dirs: string[] = []
  return [
    { name: 'MemStore', make: async () => new MemStore(), cleanup: () => {} },
    {
      name: 'FsStore',
      make: async () => {
        const dir = mkdtempSync(join(tmpdir(), 'verity-store-'))
        dirs.push(dir)
        return FsStore.open(dir)
      },
      cleanup: () => { for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true }) }
    }
  ]
}
