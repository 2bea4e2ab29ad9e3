import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runChild } from '../../bench/measure.js'
import { runNetChild, startProvider, type ProviderProcess } from '../../bench/net.js'
import { computeOutboard } from '../../store/bao/outboard.js'
import { encodeRanges } from '../../store/bao/encode.js'
import { toHex } from '../../store/hash-text.js'
import { ChunkRanges } from '../../store/ranges/chunk-ranges.js'
import { randomBytes, repoRoot } from '../helpers.js'

/**
 * The child processes of `npm run bench`'s net, longrun, downloader and store sections, at 2 MiB:
 * each must do its whole job and report it. A change elsewhere (a policy, an option) can break a
 * child unseen until a full bench runs, as it did for the origin section (bench-origin.test.ts).
 */
describe('the bench\'s child processes (net, longrun, downloader, store), 2 MiB', function () {
  this.timeout(180000)
  const size = 2 << 20

  describe('bench/net-child.ts', () => {
    let providers: ProviderProcess[] = []
    before(async () => {
      providers = [await startProvider(size, { fs: true }), await startProvider(size)]
    })
    after(async () => { await Promise.all(providers.map(async p => { await p.stop() })) })

    it('fetches raw, into a MemStore and into an FsStore, over QUIC and TCP', () => {
      const provider = providers[0] as ProviderProcess
      for (const addr of [provider.quic, provider.tcp]) {
        for (const mode of ['raw', 'mem', 'fs']) {
          const result = runNetChild<{ seconds: number, bytes: number, maxRssMB: number, cpuSeconds: number }>(['fetch', mode, addr, provider.hash, String(size)])
          assert.equal(result.bytes, size, `${mode} ${addr}`)
          assert.ok(result.seconds > 0 && result.cpuSeconds > 0 && result.maxRssMB > 0, JSON.stringify(result))
        }
      }
    })

    it('fetches the same blob again and again into one FsStore (fetch-many, the longrun section)', () => {
      const provider = providers[0] as ProviderProcess
      const result = runNetChild<{ fetches: Array<{ seconds: number, cpuSeconds: number, majorGcs: number }>, maxRssMB: number }>(['fetch-many', '3', provider.quic, provider.hash, String(size)])
      assert.equal(result.fetches.length, 3)
      for (const fetch of result.fetches) assert.ok(fetch.seconds > 0 && fetch.cpuSeconds > 0, JSON.stringify(fetch))
    })

    it('downloads through the Downloader from one and two providers, with and without a progress consumer', () => {
      const [one, two] = providers as [ProviderProcess, ProviderProcess]
      assert.equal(one.hash, two.hash)
      for (const [strategy, listen, addrs] of [['split', 'quiet', [one.quic]], ['split', 'listen', [one.quic, two.quic]], ['none', 'quiet', [one.quic, two.quic]]] as const) {
        const result = runNetChild<{ bytes: number, bytesReceived: number, progressItems: number, byProvider: number[] }>(['download', strategy, listen, one.hash, String(size), ...addrs])
        assert.equal(result.bytes, size, `${strategy} ${listen}`)
        assert.equal(result.byProvider.reduce((a, b) => a + b, 0), size, `${strategy} ${listen}: ${result.byProvider.join(', ')}`)
        if (listen === 'listen') assert.ok(result.progressItems > 0)
      }
    })
  })

  describe('bench/store-child.ts', () => {
    let dir: string
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'verity-bench-store-test-')) })
    afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

    it('adds a file by copy and in place, and imports an encoded stream', async () => {
      const data = randomBytes(size, 2101)
      const file = join(dir, 'input.bin')
      writeFileSync(file, data)
      const { hash, outboard } = computeOutboard(data)
      const parts: Uint8Array[] = []
      for await (const part of encodeRanges({ hash, size, data, outboard, ranges: ChunkRanges.all() })) parts.push(part.slice())
      const encoded = join(dir, 'encoded.bao')
      writeFileSync(encoded, Buffer.concat(parts))
      const child = join(repoRoot, 'dist', 'bench', 'store-child.js')
      const runs: string[][] = [['addFile', join(dir, 'copy'), file], ['addFileInPlace', join(dir, 'in-place'), file], ['importBao', join(dir, 'import'), encoded, toHex(hash)]]
      for (const args of runs) {
        const result = runChild<{ seconds: number, bytes: number, maxRssMB: number }>(child, args)
        assert.equal(result.bytes, size, args[0])
        assert.ok(result.seconds > 0 && result.maxRssMB > 0, JSON.stringify(result))
      }
    })
  })
})
