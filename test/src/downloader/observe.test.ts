import assert from 'node:assert/strict'
import type { DownloadProgress, DownloadRequest } from '../../../src/downloader/interface.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { randomBytes } from '../../helpers.js'

describe('Downloader.observe: every download\'s items, whoever started it', function () {
  this.timeout(60000)
  let provider: VerityNode
  let fetcher: VerityNode
  beforeEach(async () => { [provider, fetcher] = await Promise.all([createNode(), createNode()]) })
  afterEach(async () => { await Promise.all([provider.stop(), fetcher.stop()]) })

  it('hears a shared download once, with the request that started it; a listener that throws disturbs nothing; stopping ends it', async () => {
    const { hash } = await provider.blobs.addBytes(randomBytes(3 << 20, 51))
    const heard: Array<{ item: DownloadProgress, request: DownloadRequest }> = []
    const stop = fetcher.downloader.observe((item, request) => { heard.push({ item, request }) })
    const stopThrowing = fetcher.downloader.observe(() => { throw new Error('a broken listener') })
    const mine: DownloadProgress[] = []
    // Two callers of the same content share one download.
    await Promise.all([
      fetcher.downloader.download({ request: hash, providers: [provider.ticket(hash)], onProgress: item => { mine.push(item) } }).result,
      fetcher.downloader.download({ request: hash, providers: [provider.ticket(hash)] }).result
    ])
    assert.ok(heard.length > 0)
    assert.ok(heard.every(({ request }) => request === hash), 'the first caller\'s request')
    const parts = (items: DownloadProgress[]): number => items.filter(i => i.type === 'download:part-complete').length
    assert.equal(parts(heard.map(h => h.item)), parts(mine), 'once per download, not once per caller')
    assert.ok(heard.some(({ item }) => item.type === 'download:try-provider' && item.detail.provider === provider.peerId))
    stop()
    stopThrowing()
    const count = heard.length
    const { hash: other } = await provider.blobs.addBytes(randomBytes(1000, 52))
    await fetcher.downloader.download({ request: other, providers: [provider.ticket(other)] }).result
    assert.equal(heard.length, count, 'nothing heard once stopped')
  })
})
