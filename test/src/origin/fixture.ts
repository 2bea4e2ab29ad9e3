import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FsStore } from '../../../store/fs-store.js'
import { Origins, type OriginsInit } from '../../../src/origin/origins.js'
import { OriginServer } from './origin-server.js'

/** What each test of a describe block gets fresh, and loses after it. */
export interface OriginFixture {
  /** A temp directory of the test's own. */
  dir: string
  store: FsStore
  origins: Origins
  /** A counting origin on 127.0.0.1. */
  server: OriginServer
  /** Close `origins` and make it again over the same store and data directory (a restart). */
  reopen: () => Promise<void>
}

/**
 * Registers beforeEach/afterEach hooks that give each test a temp directory, an FsStore in it,
 * Origins over that store (its data directory `dir`, or `dir/<sub>`), and an origin server; and
 * close and remove them after.
 */
export function originFixture (prefix: string, options: { sub?: string, init?: Omit<OriginsInit, 'dataDir'> } = {}): OriginFixture {
  const t = {} as OriginFixture
  const dataDir = (): string => options.sub === undefined ? t.dir : join(t.dir, options.sub)
  const open = async (): Promise<Origins> => await Origins.create({ store: t.store }, { ...options.init, dataDir: dataDir() })
  t.reopen = async () => {
    await t.origins.close()
    t.origins = await open()
  }
  beforeEach(async () => {
    t.dir = mkdtempSync(join(tmpdir(), prefix))
    t.store = await FsStore.open(join(dataDir(), 'store'))
    t.origins = await open()
    t.server = await OriginServer.start()
  })
  afterEach(async () => {
    await t.origins.close()
    await t.store.close()
    await t.server.stop()
    rmSync(t.dir, { recursive: true, force: true })
  })
  return t
}
