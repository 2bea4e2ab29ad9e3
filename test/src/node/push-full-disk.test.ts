import assert from 'node:assert/strict'
import { join } from 'node:path'
import { RangeSpecSeq } from '../../../protocol/range-spec.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { randomBytes, rejection } from '../../helpers.js'
import { TmpfsFixture, type Tmpfs } from '../../tmpfs.js'

function quic (node: VerityNode): string {
  return String(node.addrs().find(a => a.toString().includes('/quic-v1')))
}

describe('a push onto a node whose disk fills (real tmpfs; root only)', function () {
  this.timeout(60000)
  const tmpfs = new TmpfsFixture('8m')
  let disk: Tmpfs | undefined
  const nodes: VerityNode[] = []

  before(function () { disk = tmpfs.mount(this) })
  after(async () => {
    try {
      await Promise.all(nodes.splice(0).map(async node => await node.stop()))
    } finally {
      tmpfs.release()
    }
  })

  it('fails the push with the reason, keeps what verified, and the node goes on serving', async () => {
    const receiver = await createNode({ dataDir: join((disk as Tmpfs).dir, 'd'), provide: { push: 'all' } })
    nodes.push(receiver)
    const pusher = await createNode()
    nodes.push(pusher)
    const small = randomBytes(50000, 1)
    const { hash: smallHash } = await receiver.blobs.addBytes(small)
    const { hash } = await pusher.blobs.addBytes(randomBytes(12 * 1024 * 1024, 2))

    const err = await rejection(() => pusher.remote.push(quic(receiver), { hash, ranges: RangeSpecSeq.root() }))
    assert.match(`${err.name}: ${err.message}`, /StoreFull/, err.stack)
    assert.equal((await receiver.blobs.status(hash)).status, 'partial', 'the batches recorded before the disk filled stay')

    const back = await createNode()
    nodes.push(back)
    await back.remote.fetch(quic(receiver), smallHash)
    assert.ok(Buffer.from(await back.blobs.getBytes(smallHash)).equals(Buffer.from(small)), 'the receiver still serves')
    assert.deepEqual(tmpfs.unhandled, [])
  })
})
