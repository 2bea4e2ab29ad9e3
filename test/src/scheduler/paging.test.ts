import assert from 'node:assert/strict'
import { assertError, startScheduler } from './harness.js'

type Started = Awaited<ReturnType<typeof startScheduler>>

/** 50 peers whose keys repeat (5 host names, 10 ports, 2 versions) so that sorting by several keys matters. */
const PEERS = Array.from({ length: 50 }, (_, i) => ({
  IP: `10.0.${i % 3}.${(i * 37) % 250}`,
  hostName: `host-${(i * 7) % 5}`,
  port: 15000 + ((i * 13) % 10),
  version: `v${i % 2}`
}))

/** An independent sort: each key in turn, numbers as numbers, then the ID. */
function expected (views: any[], keys: string[], desc: boolean): string[] {
  const sorted = [...views].sort((a, b) => {
    for (const key of [...keys, 'ID']) {
      if (a[key] === b[key]) continue
      const order = typeof a[key] === 'number' ? a[key] - b[key] : a[key] < b[key] ? -1 : 1
      return desc ? -order : order
    }
    return 0
  })
  return sorted.map(view => view.ID)
}

describe('scheduler API: GET /api/v1/peers paging and sorting on 50 peers', function () {
  let s: Started
  let all: any[]
  before(async () => {
    s = await startScheduler()
    for (const peer of PEERS) assert.equal((await s.call('POST', '/api/v1/peers', peer)).status, 201)
    all = (await s.call('GET', '/api/v1/peers?pageSize=1000')).json
  })
  after(async () => { await s.stop() })

  it('registers 50 distinct peers', () => {
    assert.equal(all.length, 50)
    assert.equal(new Set(all.map(peer => peer.ID)).size, 50)
  })

  for (const [keys, direct] of [[[], 'ASC'], [['port'], 'ASC'], [['hostName', 'port'], 'ASC'], [['version', 'hostName', 'port'], 'DESC'], [['port', 'IP'], 'DESC']] as Array<[string[], string]>) {
    it(`pages of 7 sorted by ${keys.join(', ') || 'ID'} ${direct}: together the whole sorted list, each peer once`, async () => {
      const query = keys.map(key => `sortKey=${key}`).join('&')
      const pages: string[] = []
      for (let page = 0; ; page++) {
        const answer = await s.call('GET', `/api/v1/peers?pageSize=7&pageNum=${page}&sortDirect=${direct}${query === '' ? '' : `&${query}`}`)
        assert.equal(answer.status, 200)
        assert.ok(answer.json.length <= 7)
        if (answer.json.length === 0) break
        pages.push(...answer.json.map((peer: any) => peer.ID))
      }
      assert.equal(pages.length, 50)
      assert.deepEqual(pages, expected(all, keys, direct === 'DESC'))
      if (keys.length > 0) {
        for (let i = 1; i < 50; i++) {
          const [a, b] = [all.find(p => p.ID === pages[i - 1]), all.find(p => p.ID === pages[i])]
          const first = keys[0] as string
          if (direct === 'ASC') assert.ok(a[first] <= b[first], `${first} ascending at ${i}`)
          else assert.ok(a[first] >= b[first], `${first} descending at ${i}`)
        }
      }
    })
  }

  it('several keys may also come comma-separated; a page past the end is empty', async () => {
    const repeated = (await s.call('GET', '/api/v1/peers?pageSize=50&sortKey=hostName&sortKey=port')).json
    const comma = (await s.call('GET', '/api/v1/peers?pageSize=50&sortKey=hostName,port')).json
    assert.deepEqual(comma, repeated)
    assert.deepEqual((await s.call('GET', '/api/v1/peers?pageSize=10&pageNum=5')).json, [])
    assert.equal((await s.call('GET', '/api/v1/peers?pageSize=10&pageNum=4')).json.length, 10)
  })

  it('an unknown sort key is 400 naming sortKey, even after good ones', async () => {
    assertError(await s.call('GET', '/api/v1/peers?pageSize=10&sortKey=port&sortKey=load'), 400, 'sortKey')
  })
})
