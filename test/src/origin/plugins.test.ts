import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { MemStore } from '../../../store/mem-store.js'
import { Origins } from '../../../src/origin/origins.js'
import { repoRoot, rejection } from '../../helpers.js'

/** A logger that keeps what `verity:origin` logs (plugin loads among it). */
function recordingLogger (lines: string[]): ComponentLogger {
  const base = defaultLogger()
  return {
    forComponent: (name: string): Logger => {
      const inner = base.forComponent(name)
      const format = (args: unknown[]): string => {
        const [first, ...rest] = args
        return String(first).replace(/%[sdo]/g, () => String(rest.shift()))
      }
      const log = Object.assign((...args: unknown[]) => { lines.push(`${name} ${format(args)}`) }, inner, {
        error: (...args: unknown[]) => { lines.push(`${name} error ${format(args)}`) }
      })
      return log as unknown as Logger
    }
  }
}

const pattern = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i % 251)

describe('origins: backend plugins', function () {
  this.timeout(60000)
  let dir: string
  let store: MemStore
  let origins: Origins | undefined

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'verity-plugins-'))
    store = new MemStore()
  })
  afterEach(async () => {
    await origins?.close()
    origins = undefined
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('the example plugin and a broken one in one directory: the good one serves, the broken one is named, loading succeeds', async () => {
    const plugins = join(dir, 'plugins')
    mkdirSync(plugins)
    copyFileSync(join(repoRoot, 'examples', 'plugin-backend', 'mem-backend.mjs'), join(plugins, 'mem-backend.mjs'))
    writeFileSync(join(plugins, 'broken.mjs'), 'throw new Error("broken on purpose")\n')
    writeFileSync(join(plugins, 'empty.mjs'), 'export const nothing = 1\n')
    writeFileSync(join(plugins, 'greedy.mjs'), 'export default { name: "greedy", schemes: ["http"], head: async () => ({ size: 0 }), get: async function * () {} }\n')
    writeFileSync(join(plugins, 'notes.txt'), 'not a plugin\n')
    const lines: string[] = []
    origins = await Origins.create({ store, logger: recordingLogger(lines) }, { pluginDir: plugins })

    assert.deepEqual(origins.plugins.loaded, [{ name: 'mem', file: 'mem-backend.mjs', schemes: ['mem'] }])
    assert.ok(lines.includes('verity:origin load [mem] plugin backend'), lines.join('\n'))
    const failed = new Map(origins.plugins.failed.map(f => [f.file, f]))
    assert.deepEqual([...failed.keys()].sort(), ['broken.mjs', 'empty.mjs', 'greedy.mjs'])
    assert.match(failed.get('broken.mjs')?.message ?? '', /broken\.mjs.*broken on purpose/)
    assert.match(failed.get('empty.mjs')?.message ?? '', /no default export/)
    assert.match(failed.get('greedy.mjs')?.message ?? '', /DuplicateScheme: scheme http: is claimed by http \(built-in\) and by greedy \(greedy\.mjs\)/)
    assert.ok(lines.some(line => line.includes('error plugin broken.mjs failed to load')), lines.join('\n'))

    const hello = await origins.import('mem://demo/hello.txt')
    assert.equal(new TextDecoder().decode(await store.getBytes(hello.hash)), 'hello from a plugin backend\n')
    const numbers = await origins.import('mem://demo/numbers.bin', { pieceSize: 256 << 10 })
    assert.ok(Buffer.from(await store.getBytes(numbers.hash)).equals(pattern(1 << 20)))
    const all = await origins.import('mem://demo/')
    assert.deepEqual((await store.readCollection(all.hash)).map(entry => entry.name), ['docs/readme.txt', 'hello.txt', 'numbers.bin'])
    const docs = await origins.import('mem://demo/docs')
    assert.deepEqual((await store.readCollection(docs.hash)).map(entry => entry.name), ['docs/readme.txt'])
    const missing = await rejection(async () => await origins?.import('mem://demo/nothing'))
    assert.equal(missing.name, 'OriginNotFound')
    assert.match(missing.message, /mem:\/\/demo\/nothing/)
  })

  it('no plugin directory, no plugins; backends given in code that claim one scheme twice are DuplicateScheme', async () => {
    origins = await Origins.create({ store }, { pluginDir: join(dir, 'absent') })
    assert.deepEqual(origins.plugins.loaded, [])
    assert.deepEqual(origins.backends.map(b => b.backend.name), ['file', 'http'])
    const backend = { name: 'twice', schemes: ['file'], head: async () => ({ size: 0 }), get: async function * () {} }
    const err = await rejection(async () => await Origins.create({ store }, { backends: [backend] }))
    assert.equal(err.name, 'DuplicateScheme')
    assert.match(err.message, /file \(built-in\).*twice/)
  })

  it('VERITY_PLUGIN_DIR is the plugin directory when none is given', async () => {
    const plugins = join(dir, 'env-plugins')
    mkdirSync(plugins)
    copyFileSync(join(repoRoot, 'examples', 'plugin-backend', 'mem-backend.mjs'), join(plugins, 'mem.mjs'))
    const before = process.env.VERITY_PLUGIN_DIR
    process.env.VERITY_PLUGIN_DIR = plugins
    try {
      origins = await Origins.create({ store }, { dataDir: join(dir, 'data') })
    } finally {
      if (before === undefined) delete process.env.VERITY_PLUGIN_DIR
      else process.env.VERITY_PLUGIN_DIR = before
    }
    assert.deepEqual(origins.plugins.loaded.map(p => p.name), ['mem'])
    assert.equal(origins.plugins.dir, plugins)
  })
})
