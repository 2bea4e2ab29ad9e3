import assert from 'node:assert/strict'
import { createNode } from '../../../src/node/create-node.js'
import type { ObserveItem } from '../../../protocol/request.js'
import { fromHex } from '../../../store/hash-text.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { PeerProcess } from './peer-process.js'

describe('observe across nodes', function () {
  this.timeout(120000)

  it('a third node watching a provider sees its bitfield grow while it fetches the blob from elsewhere', async () => {
    const size = 16 * 1024 * 1024
    const origin = await PeerProcess.start({ sizes: [size], sendDelayMs: 40 })
    const middle = await createNode()
    const watcher = await createNode()
    try {
      const hash = fromHex(origin.ready.blobs[0] as string)
      const addr = String(middle.addrs().find(a => a.toString().includes('/quic-v1')))
      const seen: ObserveItem[] = []
      const controller = new AbortController()
      const watching = (async () => {
        for await (const item of watcher.remote.observe(addr, hash, ChunkRanges.all(), { signal: controller.signal })) {
          seen.push(item)
          if (item.ranges.isAll()) break
        }
      })()
      await new Promise(resolve => setTimeout(resolve, 200))
      await middle.remote.fetch(origin.addr(), hash)
      await watching
      assert.deepEqual(seen[0], { size: 0, ranges: ChunkRanges.empty() }, 'absent at first')
      assert.ok(seen.length >= 4, `saw ${seen.length} states`)
      for (let i = 1; i < seen.length; i++) {
        const prev = (seen[i - 1] as ObserveItem).ranges
        const cur = (seen[i] as ObserveItem).ranges
        assert.ok(prev.difference(cur).isEmpty() || (seen[i - 1] as ObserveItem).size === 0, 'ranges only grow')
        assert.ok(!cur.equals(prev), 'each message is a change')
      }
      const last = seen[seen.length - 1] as ObserveItem
      assert.equal(last.size, size)
      assert.ok(last.ranges.isAll())
      const partial = seen.filter(s => s.size === size && !s.ranges.isAll() && !s.ranges.isEmpty())
      assert.ok(partial.length >= 2, `partial states seen: ${partial.map(s => s.ranges.toString()).join(' ')}`)
    } finally {
      await watcher.stop()
      await middle.stop()
      await origin.stop()
    }
  })
})
