import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GROUP_SIZE } from '../../store/bao/constants.js'
import { flipBit, randomBytes } from '../helpers.js'
import { LOCAL, startVerity, verity, type Ran } from './cli-process.js'

const text = (ran: Ran): string => ran.stdout.toString('utf8')
const lines = (ran: Ran): string[] => text(ran).trim().split('\n').filter(line => line !== '')
const events = (ran: Ran): Array<Record<string, unknown>> => lines(ran).map(line => JSON.parse(line) as Record<string, unknown>)


describe('verity add / ls / export / tag / gc / verify / cat / ticket: CLI processes', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-store-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('adds files and directories, lists, tags, exports them byte for byte, and gc deletes only what no tag keeps', async () => {
    const data = join(dir, 'store-a')
    const at = (...args: string[]): Promise<Ran> => verity([...args, '--data-dir', data])
    const big = randomBytes(2 * 1024 * 1024 + 17, 1)
    mkdirSync(join(dir, 'tree', 'sub'), { recursive: true })
    writeFileSync(join(dir, 'big.bin'), big)
    writeFileSync(join(dir, 'tree', 'x.txt'), 'x')
    writeFileSync(join(dir, 'tree', 'sub', 'y.bin'), randomBytes(50000, 2))
    writeFileSync(join(dir, 'loose.bin'), randomBytes(30000, 3))

    const added = await at('add', join(dir, 'big.bin'), join(dir, 'tree'))
    assert.equal(added.status, 0, added.stderr)
    const [bigHash, treeHash] = lines(added).map(line => line.split('  ')[0] as string)
    assert.match(lines(added)[0] as string, /^[0-9a-f]{64} {2}.*big\.bin$/)
    const loose = await at('add', join(dir, 'loose.bin'), '--tag', 'loose', '--json')
    const looseEvent = events(loose)[0] as { type: string, hash: string, tag: string }
    assert.deepEqual([looseEvent.type, looseEvent.tag], ['added', 'loose'])

    const listed = await at('ls', '--json')
    const blobs = events(listed) as Array<{ hash: string, status: string, size: number, tags: string[] }>
    assert.deepEqual(blobs.find(b => b.hash === bigHash)?.size, big.length)
    assert.ok(blobs.every(b => b.status === 'complete'))
    assert.equal(blobs.length, 6, 'big, loose, the collection, its metadata and its two files')

    const tags = await at('tag', 'ls')
    assert.ok(lines(tags).some(line => line.endsWith(`${treeHash ?? ''}  hashseq`)), text(tags))
    const out = join(dir, 'exported')
    assert.equal((await at('export', bigHash as string, join(out, 'big.bin'))).status, 0)
    assert.ok(readFileSync(join(out, 'big.bin')).equals(Buffer.from(big)))
    // The tag says it is a collection: its files come out under the directory.
    const tree = await at('export', treeHash as string, out)
    assert.equal(tree.status, 0, tree.stderr)
    assert.equal(readFileSync(join(out, 'tree', 'x.txt'), 'utf8'), 'x')
    assert.equal((await at('export', bigHash as string, join(out, 'big.bin'))).status, 1, 'an existing file is not replaced unasked')

    assert.equal((await at('tag', 'rm', 'loose')).status, 0)
    assert.equal((await at('tag', 'rm', 'loose')).status, 1, 'a tag that is not there')
    assert.equal((await at('tag', 'frob')).status, 2)
    const collected = await at('gc')
    assert.equal(collected.status, 0, collected.stderr)
    assert.deepEqual(lines(collected), [looseEvent.hash], 'only the untagged blob goes; the collection keeps its files')
    assert.equal(events(await at('ls', '--json')).length, 5)
    const gone = await at('export', looseEvent.hash, join(out, 'loose.bin'))
    assert.equal(gone.status, 1)
    assert.match(gone.stderr, /not in the store/)
  })

  it('verify finds rot and an edited in-place file; --repair drops them; get fetches back only what was dropped', async () => {
    const data = join(dir, 'store-rot')
    const at = (...args: string[]): Promise<Ran> => verity([...args, '--data-dir', data])
    const blob = randomBytes(40 * GROUP_SIZE, 4)
    writeFileSync(join(dir, 'rot.bin'), blob)
    writeFileSync(join(dir, 'edited.bin'), randomBytes(5 * GROUP_SIZE, 5))
    const hash = (lines(await at('add', join(dir, 'rot.bin'))) [0] as string).split('  ')[0] as string
    const edited = (lines(await at('add', join(dir, 'edited.bin'), '--in-place'))[0] as string).split('  ')[0] as string
    assert.equal((await at('verify')).status, 0)

    flipBit(join(data, 'store', 'data', `${hash}.data`), 7 * GROUP_SIZE + 9)
    flipBit(join(dir, 'edited.bin'), 100)
    const report = await at('verify')
    assert.equal(report.status, 1)
    assert.ok(lines(report).includes(`BAD  ${hash}  bytes ${7 * GROUP_SIZE}..${8 * GROUP_SIZE}`), text(report))
    assert.ok(lines(report).includes(`BAD  ${edited}  bytes 0..${GROUP_SIZE}`), text(report))
    assert.match(report.stderr, /2 bad \(verity verify --repair drops what is bad\)/)

    const repaired = await at('verify', '--repair', '--json')
    assert.equal(repaired.status, 1)
    const byHash = new Map(events(repaired).map(e => [e.hash as string, e]))
    assert.equal(byHash.get(hash)?.repaired, 'ranges')
    assert.equal(byHash.get(edited)?.repaired, 'removed')
    const after = await at('verify')
    assert.equal(after.status, 0, 'what is left verifies')
    assert.match(text(await at('ls')), new RegExp(`${hash} {2}partial 624\\.0 KiB of 640\\.0 KiB`))

    // A node with the good copy fills in the dropped group, and only that.
    const good = join(dir, 'store-good')
    const seeded = await verity(['add', join(dir, 'rot.bin'), '--data-dir', good])
    assert.equal(seeded.status, 0)
    const server = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', good, ...LOCAL])
    try {
      const ticket = await verity(['ticket', hash, '--data-dir', good])
      assert.equal(ticket.status, 0, ticket.stderr)
      const got = await at('get', text(ticket).trim(), '-o', join(dir, 'rot-again.bin'), '--json')
      assert.equal(got.status, 0, got.stderr)
      const fetched = events(got).find(e => e.type === 'fetched') as { bytes: number, localBytes: number }
      assert.deepEqual([fetched.bytes, fetched.localBytes], [blob.length, blob.length - GROUP_SIZE])
      assert.ok(readFileSync(join(dir, 'rot-again.bin')).equals(Buffer.from(blob)))
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  it('cat prints a blob or a range of it: local, or fetched (just that range) with a ticket; ticket needs a running node', async () => {
    const blob = randomBytes(8 * 1024 * 1024, 6)
    writeFileSync(join(dir, 'cat.bin'), blob)
    const home = join(dir, 'store-cat')
    const hash = (lines(await verity(['add', join(dir, 'cat.bin'), '--data-dir', home]))[0] as string).split('  ')[0] as string
    const local = await verity(['cat', hash, '--offset', '1000', '--length', '5000', '--data-dir', home])
    assert.equal(local.status, 0, local.stderr)
    assert.ok(local.stdout.equals(Buffer.from(blob.subarray(1000, 6000))))

    const none = await verity(['ticket', hash, '--data-dir', home])
    assert.equal(none.status, 1)
    assert.match(none.stderr, /no verity serve or send is running/)
    const given = await verity(['ticket', hash, '--addr', '127.0.0.1:4433', '--data-dir', home])
    assert.equal(given.status, 0, given.stderr)
    assert.match(text(given), /^blob[a-z2-7]+\n$/)

    const server = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', home, ...LOCAL])
    try {
      const ticket = text(await verity(['ticket', hash, '--data-dir', home])).trim()
      const far = join(dir, 'store-far')
      const part = await verity(['cat', ticket, '--offset', String(3 * 1024 * 1024 + 7), '--length', '100000', '--data-dir', far])
      assert.equal(part.status, 0, part.stderr)
      assert.ok(part.stdout.equals(Buffer.from(blob.subarray(3 * 1024 * 1024 + 7, 3 * 1024 * 1024 + 100007))))
      const held = events(await verity(['ls', '--json', '--data-dir', far]))[0] as { presentBytes: number }
      assert.ok(held.presentBytes < 200 * 1024, `cat of 100 kB fetched ${held.presentBytes} bytes`)
      const whole = await verity(['cat', ticket, '--data-dir', far])
      assert.ok(whole.stdout.equals(Buffer.from(blob)), 'then the whole blob')
      assert.equal((await verity(['cat', ticket, '--json', '--data-dir', far])).status, 2, 'stdout is for the bytes')
      assert.equal((await verity(['cat', ticket, '--offset', 'x', '--data-dir', far])).status, 2)
    } finally {
      assert.equal(await server.stop(), 0)
    }
    const unknown = await verity(['cat', 'ab'.repeat(32), '--data-dir', home])
    assert.equal(unknown.status, 1)
    assert.match(unknown.stderr, /is not here and no provider was given/)
  })

  it('while serve holds the data directory, add, ls, tag, export, verify and gc run inside it (its control socket); what they add is served at once', async () => {
    const home = join(dir, 'home')
    const at = (...args: string[]): Promise<Ran> => verity([...args, '--data-dir', home], { cwd: dir })
    const blob = randomBytes(3 * 1024 * 1024 + 1, 31)
    writeFileSync(join(dir, 'late.bin'), blob)
    const server = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', home, ...LOCAL])
    try {
      // A relative path, read from the client's working directory.
      const added = await at('add', 'late.bin', '--tag', 'late')
      assert.equal(added.status, 0, added.stderr)
      assert.match(added.stderr, /^verity: added late\.bin: 3\.0 MiB, tag late$/m, 'messages reach the client')
      const hash = text(added).split('  ')[0] as string
      assert.deepEqual(events(await at('ls', '--json')).map(e => e.hash), [hash])
      assert.equal(text(await at('tag', 'ls')), `late  ${hash}  raw\n`)
      assert.equal((await at('tag', 'frob')).status, 2, 'usage errors keep their exit code')
      const exported = await at('export', hash, '-')
      assert.ok(exported.stdout.equals(Buffer.from(blob)), 'export - streams the blob to the client')
      assert.equal((await at('verify')).status, 0)

      // The running node serves it at once: HTTP, and peers with a ticket.
      const http = await fetch(`${server.line}/blob/${hash}`)
      assert.ok(Buffer.from(await http.arrayBuffer()).equals(Buffer.from(blob)))
      const ticket = text(await at('ticket', hash)).trim()
      const got = await verity(['get', ticket, '-o', join(dir, 'got.bin'), '--data-dir', join(dir, 'other')])
      assert.equal(got.status, 0, got.stderr)
      assert.ok(readFileSync(join(dir, 'got.bin')).equals(Buffer.from(blob)))

      assert.equal((await at('tag', 'rm', 'late')).status, 0)
      assert.deepEqual(lines(await at('gc')), [hash])
      assert.equal((await fetch(`${server.line}/blob/${hash}`)).status, 404, 'gone from the running node too')
    } finally {
      assert.equal(await server.stop(), 0)
    }
    // Stopped: the commands open the store themselves again.
    const after = await at('ls')
    assert.deepEqual([after.status, text(after)], [0, ''])
  })
})
