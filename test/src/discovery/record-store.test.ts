import assert from 'node:assert/strict'
import { Key } from 'interface-datastore'
import { BoundedDatastore } from '../../../src/discovery/record-store.js'

const record = (cid: string, peer: string): Key => new Key(`/dht/provider/${cid}/${peer}`)
const time = new Uint8Array([1])

describe('discovery: the DHT records other peers may make a node keep', () => {
  it('refuses a peer past maxRecordsPerPeer, and anyone past maxRecords; renewals and own records always go in', async () => {
    const store = new BoundedDatastore({ maxRecords: 5, maxRecordsPerPeer: 2 })
    store.self = 'me'
    await store.put(record('a', 'p1'), time)
    await store.put(record('b', 'p1'), time)
    await assert.rejects(store.put(record('c', 'p1'), time), { name: 'ProviderRecordsFull' })
    await store.put(record('a', 'p1'), time) // renewing one held
    for (let i = 0; i < 10; i++) await store.put(record(`own${i}`, 'me'), time)
    await store.put(record('a', 'p2'), time)
    await store.put(record('b', 'p2'), time)
    await store.put(record('a', 'p3'), time)
    assert.equal(store.providerRecords, 5)
    await assert.rejects(store.put(record('b', 'p4'), time), { name: 'ProviderRecordsFull' })
    // Other keys (the peer store's, say) are not provider records.
    await store.put(new Key('/peers/p4'), time)
    // An expired record dropped frees its room.
    await store.delete(record('a', 'p1'))
    await store.delete(record('a', 'p1'))
    assert.equal(store.providerRecords, 4)
    await store.put(record('c', 'p1'), time)
    await assert.rejects(store.put(record('d', 'p1'), time), { name: 'ProviderRecordsFull' })
  })

  it('counts what a batch writes and deletes as single puts do', async () => {
    const store = new BoundedDatastore({ maxRecords: 3, maxRecordsPerPeer: 3 })
    const batch = store.batch()
    batch.put(record('a', 'p1'), time)
    batch.put(record('b', 'p1'), time)
    await batch.commit()
    assert.equal(store.providerRecords, 2)
    const more = store.batch()
    more.delete(record('a', 'p1'))
    await more.commit()
    assert.equal(store.providerRecords, 1)
  })
})
