import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import fc from 'fast-check'
import type { AddressInfo } from 'node:net'
import { decodeRanges } from '../../../store/bao/decode.js'
import { safeName } from '../../../store/collection.js'
import { fromHex, toHex } from '../../../store/hash-text.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { createGateway } from '../../../src/index.js'
import { CollectionIndex } from '../../../src/http/collection-index.js'
import { parseCollectionPath } from '../../../src/http/collection-path.js'
import { Collections } from '../../../src/http/collections.js'
import { sniffType } from '../../../src/http/content-type.js'
import { PAGE_SIZE } from '../../../src/http/listing.js'
import { createNode, type VerityNode } from '../../../src/node/create-node.js'
import { randomBytes } from '../../helpers.js'

const LISTEN = ['/ip4/127.0.0.1/tcp/0']
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
const text = (value: string): Uint8Array => new TextEncoder().encode(value)

/** The files of the collection served below: nested paths, names that need escaping in HTML and encoding in URLs. */
const FILES: Record<string, Uint8Array> = {
  'index.html': text('<!doctype html><p>hello</p>'),
  'docs/read me.md': text('# read me\n'),
  'docs/a&b <c> "d".txt': text('quoted\n'),
  'docs/deep/50% #1?.txt': text('percent, hash, question mark\n'),
  'img/logo.png': PNG,
  'data/blob.bin': randomBytes(300000, 41),
  'notes': text('a file without an extension, in plain UTF-8: caf\u00e9\n')
}

async function listen (server: Server): Promise<string> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function close (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
}

/** A request with the path sent exactly as given (fetch would resolve `..` and re-encode it first). */
async function rawGet (base: string, path: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/`, { path }, res => {
      let body = ''
      res.setEncoding('utf8').on('data', (part: string) => { body += part }).on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('createGateway: the gateway as a node:http handler in a plain http.createServer', function () {
  this.timeout(60000)
  let node: VerityNode
  let server: Server
  let base: string
  let collection: string
  const lines: string[] = []

  before(async () => {
    node = await createNode({ listen: LISTEN })
    const entries = []
    for (const [name, bytes] of Object.entries(FILES)) entries.push({ name, hash: (await node.blobs.addBytes(bytes)).hash })
    collection = toHex((await node.blobs.addCollection(entries)).hash)
    server = createServer(createGateway({ node, accessLog: line => lines.push(line) }))
    base = await listen(server)
  })
  after(async () => {
    await close(server)
    await node.stop()
  })

  it('lists a collection as HTML: names escaped, every link works and brings the file\'s bytes', async () => {
    const res = await fetch(`${base}/blob/${collection}/`, { headers: { accept: 'text/html' } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/)
    const page = await res.text()
    for (const shown of ['docs/', 'img/', 'data/', 'index.html', 'notes']) assert.ok(page.includes(`>${shown}</a>`), shown)
    const docs = await (await fetch(`${base}/blob/${collection}/docs/`)).text()
    assert.ok(docs.includes('>a&#38;b &#60;c&#62; &#34;d&#34;.txt</a>'), 'the name escaped')
    assert.ok(!docs.includes('<c>'), 'no markup from a name')
    assert.ok(docs.includes('>../</a>'))
    // Every link of every listing, followed as a browser resolves it.
    const seen = new Set<string>()
    const follow = async (url: string): Promise<void> => {
      const html = await (await fetch(url)).text()
      for (const [, href] of html.matchAll(/<a href="([^"]*)"/g)) {
        const target = new URL((href as string).replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))), url)
        if (target.search === '?download' || href === '../') continue
        if (target.pathname.endsWith('/')) { await follow(target.href); continue }
        const name = decodeURIComponent(target.pathname.slice(`/blob/${collection}/`.length))
        const got = await fetch(target)
        assert.equal(got.status, 200, name)
        assert.ok(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(FILES[name] as Uint8Array)), name)
        seen.add(name)
      }
    }
    await follow(`${base}/blob/${collection}/`)
    assert.deepEqual([...seen].sort(), Object.keys(FILES).sort(), 'each file reached from the listings')
  })

  it('lists a collection as JSON on Accept: application/json, directories first, with sizes and hashes', async () => {
    const res = await fetch(`${base}/blob/${collection}/docs/`, { headers: { accept: 'application/json' } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/json')
    const listing = await res.json() as { hash: string, path: string, total: number, entries: Array<{ name: string, type: string, href: string, size?: number, hash?: string, here?: string }> }
    assert.equal(listing.hash, collection)
    assert.equal(listing.path, 'docs')
    assert.deepEqual(listing.entries.map(e => [e.type, e.name, e.href]), [
      ['directory', 'deep', './deep/'],
      ['file', 'a&b <c> "d".txt', './a%26b%20%3Cc%3E%20%22d%22.txt'],
      ['file', 'read me.md', './read%20me.md']
    ])
    assert.deepEqual(listing.entries.slice(1).map(e => [e.size, e.here]), [[7, 'complete'], [10, 'complete']])
    assert.equal(listing.entries[2]?.hash, toHex((await node.blobs.addBytes(FILES['docs/read me.md'] as Uint8Array)).hash))
  })

  it('serves nested paths typed by their names, sniffs unnamed blobs, and sends attachments on ?download or ?filename=', async () => {
    const cases: Array<[string, string]> = [
      ['docs/read%20me.md', 'text/markdown; charset=utf-8'],
      ['img/logo.png', 'image/png'],
      ['data/blob.bin', 'application/octet-stream'],
      ['notes', 'text/plain; charset=utf-8'],
      ['docs/deep/50%25%20%231%3F.txt', 'text/plain; charset=utf-8']
    ]
    for (const [path, type] of cases) {
      const res = await fetch(`${base}/blob/${collection}/${path}`)
      assert.equal(res.status, 200, path)
      assert.equal(res.headers.get('content-type'), type, path)
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path)
      assert.equal(res.headers.get('content-disposition'), null, path)
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(FILES[decodeURIComponent(path)] as Uint8Array)), path)
    }
    // A page kept in a collection is served as one, sandboxed off the gateway's origin.
    const page = await fetch(`${base}/blob/${collection}/index.html`)
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(page.headers.get('content-security-policy'), 'sandbox allow-scripts')
    await page.arrayBuffer()
    // The same bytes by their own hash: sniffed, never as a page.
    for (const [name, type] of [['img/logo.png', 'image/png'], ['notes', 'text/plain; charset=utf-8'], ['index.html', 'text/plain; charset=utf-8'], ['data/blob.bin', 'application/octet-stream']]) {
      const hash = toHex((await node.blobs.addBytes(FILES[name as string] as Uint8Array)).hash)
      const res = await fetch(`${base}/blob/${hash}`, { method: 'HEAD' })
      assert.equal(res.headers.get('content-type'), type, name)
    }
    const download = await fetch(`${base}/blob/${collection}/docs/read%20me.md?download`, { method: 'HEAD' })
    assert.equal(download.headers.get('content-disposition'), 'attachment; filename="read me.md"')
    const renamed = await fetch(`${base}/blob/${collection}/docs/read%20me.md?filename=x.txt`, { method: 'HEAD' })
    assert.equal(renamed.headers.get('content-disposition'), 'attachment; filename=x.txt')
    assert.equal(renamed.headers.get('content-type'), 'text/plain; charset=utf-8', 'typed by the name asked for')
    const ranged = await fetch(`${base}/blob/${collection}/data/blob.bin`, { headers: { range: 'bytes=1000-1999' } })
    assert.equal(ranged.status, 206)
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(Buffer.from((FILES['data/blob.bin'] as Uint8Array).subarray(1000, 2000))))
  })

  it('refuses paths that could leave the collection (400), paths too long (414); 404 for names not in it, 301 for a directory without its slash', async () => {
    for (const path of ['../x', 'docs/../index.html', 'docs/%2e%2e/index.html', '%2E%2E/%2E%2E/etc/passwd', 'a%00b', 'docs%2Fread%20me.md', 'docs//read%20me.md', './notes', 'docs%5Cread', '%zz', 'a%0ab']) {
      const res = await rawGet(base, `/blob/${collection}/${path}`)
      assert.equal(res.status, 400, `${path}: ${res.body}`)
    }
    assert.equal((await rawGet(base, `/blob/${collection}/${'a/'.repeat(2100)}x`)).status, 414)
    assert.equal((await fetch(`${base}/blob/${collection}/nothing.txt`)).status, 404)
    assert.equal((await fetch(`${base}/blob/${collection}/docs/nothing/`)).status, 404)
    assert.equal((await fetch(`${base}/blob/${collection}/notes/`)).status, 404, 'a file is no directory')
    const raw = toHex((await node.blobs.addBytes(FILES['notes'] as Uint8Array)).hash)
    const notCollection = await fetch(`${base}/blob/${raw}/`)
    assert.equal(notCollection.status, 404)
    assert.match(await notCollection.text(), /is not a collection/)
    const moved = await fetch(`${base}/blob/${collection}/docs/deep`, { redirect: 'manual' })
    assert.deepEqual([moved.status, moved.headers.get('location')], [301, './deep/'])
    assert.equal((await fetch(`${base}/blob/${collection}/docs/deep`)).url, `${base}/blob/${collection}/docs/deep/`)
    assert.throws(() => parseCollectionPath('a/../b'), { name: 'InvalidPath' })
    // Whatever a client sends: refused by name, or parts a collection could name (store/collection.ts safeName).
    const pieces = fc.constantFrom('a', '.', '..', '%2e', '%2E%2e', '%2F', '%5c', '%00', '%0a', '%', '%zz', '%C3%A9', '\\', '/', '')
    fc.assert(fc.property(fc.array(fc.oneof(pieces, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 12 }), list => {
      const raw = list.join('')
      let parsed
      try {
        parsed = parseCollectionPath(raw)
      } catch (err) {
        assert.ok((err as Error).name === 'InvalidPath' || (err as Error).name === 'PathTooLong', String(err))
        return
      }
      if (parsed.parts.length > 0) assert.equal(safeName(parsed.parts.join('/')), parsed.parts.join('/'))
      for (const part of parsed.parts) assert.ok(!/[\u0000-\u001f\u007f]/.test(part), JSON.stringify(part))
    }), { seed: 20, numRuns: 2000 })
    assert.throws(() => parseCollectionPath('x'.repeat(5000)), { name: 'PathTooLong' })
    assert.deepEqual(parseCollectionPath('a%20b/c/'), { parts: ['a b', 'c'], directory: true })
  })

  it('a verifiable answer for a file of the collection decodes and verifies with the project\'s decoder against the file\'s hash', async () => {
    const data = FILES['data/blob.bin'] as Uint8Array
    const res = await fetch(`${base}/blob/${collection}/data/blob.bin`, { headers: { accept: 'application/x-bao', range: 'bytes=50000-150000' } })
    assert.equal(res.status, 206)
    assert.equal(res.headers.get('content-type'), 'application/x-bao')
    assert.equal(res.headers.get('x-verity-content-range'), `bytes 50000-150000/${data.length}`)
    const hash = fromHex(res.headers.get('x-verity-hash') as string)
    assert.equal(toHex(hash), toHex((await node.blobs.addBytes(data)).hash), 'x-verity-hash names the file\'s blob')
    const encoded = new Uint8Array(await res.arrayBuffer())
    const got = new Uint8Array(data.length)
    for await (const item of decodeRanges(hash, ChunkRanges.fromByteRange(50000, 150001), [encoded])) {
      if (item.type === 'leaf') got.set(item.data, item.offset)
    }
    assert.ok(Buffer.from(got.subarray(50000, 150001)).equals(Buffer.from(data.subarray(50000, 150001))))
    encoded[encoded.length - 100] = (encoded[encoded.length - 100] as number) ^ 1
    await assert.rejects((async () => { for await (const _ of decodeRanges(hash, ChunkRanges.fromByteRange(50000, 150001), [encoded])) { /* read */ } })(), { name: 'LeafHashMismatch' })
  })

  it('pages a large directory by PAGE_SIZE entries', async () => {
    const entries = []
    for (let i = 0; i < 2 * PAGE_SIZE + 5; i++) entries.push({ name: `f${String(i).padStart(5, '0')}`, hash: (await node.blobs.addBytes(text(String(i)))).hash })
    const big = toHex((await node.blobs.addCollection(entries)).hash)
    const page = async (n: string): Promise<Response> => await fetch(`${base}/blob/${big}/?page=${n}`, { headers: { accept: 'application/json' } })
    const first = await (await page('1')).json() as { total: number, pages: number, next?: string, entries: Array<{ name: string }> }
    assert.deepEqual([first.total, first.pages, first.next, first.entries.length], [2 * PAGE_SIZE + 5, 3, '?page=2', PAGE_SIZE])
    const last = await (await page('3')).json() as { next?: string, entries: Array<{ name: string }> }
    assert.deepEqual([last.next, last.entries.length, last.entries[0]?.name], [undefined, 5, `f${String(2 * PAGE_SIZE).padStart(5, '0')}`])
    assert.equal((await page('4')).status, 404)
    for (const bad of ['0', '-1', '1.5', 'x']) assert.equal((await page(bad)).status, 400, bad)
    const html = await (await fetch(`${base}/blob/${big}/?page=2`)).text()
    assert.ok(html.includes('page 2 of 3') && html.includes('href="?page=3"'), 'the HTML pages link on')
  })

  it('reads a collection once for the requests asking at the same time, and keeps it for the next ones', async () => {
    const entries = [{ name: 'only.txt', hash: (await node.blobs.addBytes(text('once'))).hash }]
    const fresh = toHex((await node.blobs.addCollection(entries)).hash)
    const readCollection = node.blobs.readCollection
    let reads = 0
    node.blobs.readCollection = async (hash) => { reads++; return await readCollection.call(node.blobs, hash) }
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => await fetch(`${base}/blob/${fresh}/${i % 2 === 0 ? '' : 'only.txt'}`)))
      assert.deepEqual(answers.map(res => res.status), Array(20).fill(200))
      await Promise.all(answers.map(async res => await res.arrayBuffer()))
      assert.equal(reads, 1, '20 requests at once, one read')
      await (await fetch(`${base}/blob/${fresh}/only.txt`)).arrayBuffer()
      assert.equal(reads, 1, 'kept for the next request')
      // Kept up to a number of names: past it, the oldest goes first.
      const kept = new Collections(node, [], 3)
      const two = async (tag: string): Promise<Uint8Array> => (await node.blobs.addCollection(await Promise.all(['a', 'b'].map(async name => ({ name, hash: (await node.blobs.addBytes(text(tag + name))).hash }))))).hash
      const [first, second] = [await two('1'), await two('2')]
      reads = 0
      for (const hash of [first, first, second, second, first]) assert.ok((await kept.get(hash)) instanceof CollectionIndex)
      assert.equal(reads, 3, 'the first read, the second read (the first then out), the first read again')
      const missing = await kept.get(fromHex('00'.repeat(32)))
      assert.ok(!(missing instanceof CollectionIndex) && missing.status === 404)
    } finally {
      node.blobs.readCollection = readCollection
    }
  })

  it('sniffs magic numbers and tells text from binary', () => {
    assert.equal(sniffType(PNG), 'image/png')
    assert.equal(sniffType(text('%PDF-1.7')), 'application/pdf')
    assert.equal(sniffType(Uint8Array.from([0x1f, 0x8b, 8, 0])), 'application/gzip')
    assert.equal(sniffType(text('RIFF\0\0\0\0WEBPVP8 ')), 'image/webp')
    assert.equal(sniffType(text('hello\tworld\r\n')), 'text/plain; charset=utf-8')
    assert.equal(sniffType(Uint8Array.from([0x68, 0xc3])), 'text/plain; charset=utf-8', 'a character cut at the end of the sample')
    assert.equal(sniffType(Uint8Array.from([0x68, 0x00, 0x69])), 'application/octet-stream')
    assert.equal(sniffType(Uint8Array.from([0xff, 0xfe, 0x41])), 'application/octet-stream', 'not UTF-8')
    assert.equal(sniffType(text('<html><script>')), 'text/plain; charset=utf-8', 'never sniffed as a page')
  })

  it('writes an access log line per request through the accessLog option', async () => {
    lines.length = 0
    await (await fetch(`${base}/blob/${collection}/notes`)).arrayBuffer()
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(lines.length, 1)
    assert.match(lines[0] as string, new RegExp(`^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET /blob/${collection}/notes HTTP/1\\.1" 200 ${(FILES['notes'] as Uint8Array).length}$`))
  })
})

describe('the gateway and a partial blob: HEAD and GET agree', function () {
  this.timeout(60000)

  it('both 200 (or 206) while the provider delivers; both 502 for what is not here once it is gone; the part here stays 206', async () => {
    const provider = await createNode({ listen: LISTEN })
    const gatewayNode = await createNode({ listen: LISTEN, pool: { connectTimeoutMs: 2000 } })
    const data = randomBytes(2 * 1024 * 1024 + 5, 42)
    const hash = toHex((await provider.blobs.addBytes(data)).hash)
    const server = createServer(createGateway({ node: gatewayNode, providers: [{ peerId: provider.peerId, addrs: provider.addrs() }] }))
    const base = await listen(server)
    try {
      const range = { range: 'bytes=1000000-1099999' }
      const head = await fetch(`${base}/blob/${hash}`, { method: 'HEAD', headers: range })
      assert.equal(head.status, 206)
      assert.equal((await gatewayNode.blobs.status(fromHex(hash))).status, 'partial', 'HEAD fetched the chunks of its range')
      const get = await fetch(`${base}/blob/${hash}`, { headers: range })
      assert.equal(get.status, 206)
      assert.ok(Buffer.from(await get.arrayBuffer()).equals(Buffer.from(data.subarray(1000000, 1100000))))
      await provider.stop()
      for (const method of ['HEAD', 'GET']) {
        const whole = await fetch(`${base}/blob/${hash}`, { method })
        assert.equal(whole.status, 502, `${method} of the whole blob with the provider gone`)
        await whole.arrayBuffer()
        const part = await fetch(`${base}/blob/${hash}`, { method, headers: range })
        assert.equal(part.status, 206, `${method} of the part here`)
        await part.arrayBuffer()
      }
    } finally {
      await close(server)
      await gatewayNode.stop()
      await provider.stop()
    }
  })
})
