import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from '../helpers.js'
import { LOCAL, startVerity, verity, type Ran } from './cli-process.js'

const text = (ran: Ran): string => ran.stdout.toString('utf8')
const lines = (ran: Ran): string[] => text(ran).trim().split('\n').filter(line => line !== '')
const hashOf = async (path: string): Promise<string> => (text(await verity(['hash', path])).split('  ')[0] as string)

/**
 * What `verity send` shares and leaves behind, and what `verity get` keeps (issue 15): real
 * processes, QUIC and TCP on 127.0.0.1. Each child gets a temp directory and a home of the test's
 * own, so what a command leaves there (a store, a tag) is seen, and nothing of the user's is used.
 */
describe('verity send shares only what it sends; get keeps what it fetches (CLI processes on 127.0.0.1)', function () {
  this.timeout(120000)
  let dir: string
  let env: NodeJS.ProcessEnv
  let tmp: string
  let home: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'verity-cli-scope-'))
    tmp = join(dir, 'tmp')
    home = join(dir, 'home')
    mkdirSync(tmp)
    env = { ...process.env, TMPDIR: tmp, XDG_DATA_HOME: home, HOME: home }
    delete env.VERITY_DIR
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('--data-dir D holding an unrelated blob: the send ticket\'s node answers NotFound for it (exit 1), the sent file arrives byte for byte, and no tag is left in D', async () => {
    const store = join(dir, 'D')
    writeFileSync(join(dir, 'unrelated.bin'), randomBytes(64 * 1024, 61))
    const unrelated = (lines(await verity(['add', join(dir, 'unrelated.bin'), '--data-dir', store], { env }))[0] as string).split('  ')[0] as string
    const tagsBefore = text(await verity(['tag', 'ls', '--data-dir', store], { env }))
    const sent = randomBytes(5000, 62)
    writeFileSync(join(dir, 'a.txt'), sent)
    const send = await startVerity(['send', join(dir, 'a.txt'), '--ticket-only', '--data-dir', store, ...LOCAL], { env })
    try {
      const refused = await verity(['get', unrelated, '--provider', send.line, '-o', '-', '--data-dir', join(dir, 'G'), '--timeout', '20s'], { env })
      assert.equal(refused.status, 1, refused.stderr)
      assert.match(refused.stderr, /: it does not have it \(or not all of it\)/)
      assert.equal(refused.stdout.length, 0)
      const got = await verity(['get', send.line, '-o', join(dir, 'a-copy.txt'), '--data-dir', join(dir, 'G')], { env })
      assert.equal(got.status, 0, got.stderr)
      assert.ok(readFileSync(join(dir, 'a-copy.txt')).equals(Buffer.from(sent)))
      // While send runs, its control socket answers store commands: no tag of send's.
      assert.equal(text(await verity(['tag', 'ls', '--data-dir', store], { env })), tagsBefore)
    } finally {
      assert.equal(await send.stop(), 0)
    }
    assert.equal(text(await verity(['tag', 'ls', '--data-dir', store], { env })), tagsBefore, 'no permanent tag')
    assert.deepEqual(readdirSync(tmp), [], 'nothing in the temp directory')
    // The old way, asked for: --serve-all serves the whole store.
    const all = await startVerity(['send', join(dir, 'a.txt'), '--ticket-only', '--data-dir', store, '--serve-all', ...LOCAL], { env })
    try {
      const served = await verity(['get', unrelated, '--provider', all.line, '-o', '-', '--data-dir', join(dir, 'G2')], { env })
      assert.equal(served.status, 0, served.stderr)
      assert.ok(served.stdout.equals(Buffer.from(randomBytes(64 * 1024, 61))))
    } finally {
      await all.stop()
    }
    const noDir = await verity(['send', join(dir, 'a.txt'), '--serve-all'], { env })
    assert.equal(noDir.status, 2, 'without a data directory --serve-all has nothing more to serve')
  })

  it('default: a private store under $TMPDIR (named in the ready event), gone after Ctrl-C, SIGTERM or a failed start; no tag or data directory anywhere', async () => {
    writeFileSync(join(dir, 'a.txt'), 'hello, scope\n')
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const send = await startVerity(['send', join(dir, 'a.txt'), '--json', ...LOCAL], { env })
      const ready = JSON.parse(send.line) as { type: string, store: string, temporary: boolean, ticket: string }
      assert.equal(ready.type, 'ready')
      assert.equal(ready.temporary, true)
      assert.ok(ready.store.startsWith(tmp + '/') && existsSync(join(ready.store, 'store')), ready.store)
      const got = await verity(['get', ready.ticket, '-o', join(dir, `copy-${signal}.txt`), '--data-dir', join(dir, 'G')], { env })
      assert.equal(got.status, 0, got.stderr)
      assert.equal(readFileSync(join(dir, `copy-${signal}.txt`), 'utf8'), 'hello, scope\n')
      assert.equal(await send.signal(signal), 0, send.stderr())
      assert.deepEqual(readdirSync(tmp), [], `the private store is gone after ${signal}`)
    }
    assert.ok(!existsSync(home), 'the default data directory was never made')
    // A start that fails after the store is made (an address that cannot be listened on: not
    // this machine's, TEST-NET-1) removes it too.
    const failed = await verity(['send', join(dir, 'a.txt'), '--listen', '/ip4/192.0.2.1/tcp/0'], { env })
    assert.equal(failed.status, 1, failed.stderr)
    assert.deepEqual(readdirSync(tmp), [])
  })

  it('get tags what it fetches (named after what it writes; a clash takes name-2), gc keeps it and ls lists it; gc --dry-run lists what --no-tag left and deletes nothing; gc then deletes it', async () => {
    const tree = join(dir, 'docs')
    mkdirSync(join(tree, 'sub'), { recursive: true })
    writeFileSync(join(tree, 'one.md'), randomBytes(40000, 63))
    writeFileSync(join(tree, 'sub', 'two.md'), randomBytes(300, 64))
    writeFileSync(join(dir, 'a.txt'), 'first a.txt\n')
    const store = join(dir, 'G')
    const send = await startVerity(['send', tree, join(dir, 'a.txt'), '--ticket-only', ...LOCAL], { env })
    const docs = await startVerity(['send', tree, '--ticket-only', ...LOCAL], { env })
    try {
      const got = await verity(['get', docs.line, '-o', join(dir, 'out'), '--data-dir', store, '--json'], { env })
      assert.equal(got.status, 0, got.stderr)
      const tagged = lines(got).map(line => JSON.parse(line) as { type: string, name?: string }).find(e => e.type === 'tagged')
      assert.equal(tagged?.name, 'docs', 'a directory sent: its name')
      const file = await verity(['get', send.line, '-o', join(dir, 'both'), '--data-dir', store], { env })
      assert.equal(file.status, 0, file.stderr)
      assert.match(file.stderr, /tagged [0-9a-f]{64},/, 'several names at the top: the hash')
      const listed = text(await verity(['tag', 'ls', '--data-dir', store], { env }))
      assert.match(listed, /^docs {2}[0-9a-f]{64} {2}hashseq$/m)
      const before = lines(await verity(['ls', '--data-dir', store], { env }))
      assert.equal(before.length, 7, before.join('\n')) // two roots, their two name blobs, one.md and two.md (in both), a.txt
      const gc = await verity(['gc', '--data-dir', store], { env })
      assert.equal(gc.status, 0, gc.stderr)
      assert.equal(text(gc), '', 'gc deletes nothing get fetched')
      assert.deepEqual(lines(await verity(['ls', '--data-dir', store], { env })), before)
    } finally {
      await send.stop()
      await docs.stop()
    }
    // The same name for something else: docs-2, and docs still keeps the first.
    writeFileSync(join(tree, 'one.md'), 'changed\n')
    const other = await startVerity(['send', tree, '--ticket-only', ...LOCAL], { env })
    try {
      const again = await verity(['get', other.line, '-o', join(dir, 'out2'), '--data-dir', store], { env })
      assert.equal(again.status, 0, again.stderr)
      assert.match(again.stderr, /tagged docs-2,/)
      // --no-tag: fetched, written, kept by nothing.
      const loose = await verity(['get', other.line, '-o', join(dir, 'out3'), '--data-dir', join(dir, 'L'), '--no-tag'], { env })
      assert.equal(loose.status, 0, loose.stderr)
      assert.doesNotMatch(loose.stderr, /tagged/)
    } finally {
      await other.stop()
    }
    assert.equal(text(await verity(['tag', 'ls', '--data-dir', join(dir, 'L')], { env })), '')
    const held = lines(await verity(['ls', '--data-dir', join(dir, 'L')], { env })).map(line => line.split('  ')[0] as string).sort()
    assert.equal(held.length, 4, 'root, names, two files')
    const dry = await verity(['gc', '--dry-run', '--data-dir', join(dir, 'L')], { env })
    assert.equal(dry.status, 0, dry.stderr)
    assert.deepEqual(lines(dry).sort(), held, 'it names all that would go')
    assert.match(dry.stderr, /would delete 4 blobs .*nothing deleted/)
    assert.deepEqual(lines(await verity(['ls', '--data-dir', join(dir, 'L')], { env })).map(line => line.split('  ')[0] as string).sort(), held, 'and deletes none')
    const gc = await verity(['gc', '--data-dir', join(dir, 'L')], { env })
    assert.deepEqual(lines(gc).sort(), held)
    assert.deepEqual(lines(await verity(['ls', '--data-dir', join(dir, 'L')], { env })), [])
    // The tagged store lost nothing: both fetches, all their files.
    assert.equal(text(await verity(['gc', '--dry-run', '--data-dir', store], { env })), '')
    assert.ok(readFileSync(join(dir, 'out3', 'docs', 'one.md')).equals(Buffer.from('changed\n')))
  })

  it('a file changed while sent in place: the sender names it on stderr once, and in a --json event; the receiver gets an error', async () => {
    const path = join(dir, 'notes.txt')
    const original = randomBytes(200 * 1024, 65)
    writeFileSync(path, original)
    const hash = await hashOf(path)
    const send = await startVerity(['send', path, '--json', ...LOCAL], { env })
    try {
      const ticket = (JSON.parse(send.line) as { ticket: string }).ticket
      const edited = original.slice()
      edited[150000] = (edited[150000] as number) ^ 0xff
      writeFileSync(path, edited)
      for (const attempt of [1, 2]) {
        const got = await verity(['get', ticket, '-o', join(dir, `copy${attempt}.txt`), '--data-dir', join(dir, `G${attempt}`), '--timeout', '20s'], { env })
        assert.equal(got.status, 1, got.stderr)
        assert.match(got.stderr, /: it failed on its side \(its copy may be corrupt, or its disk full\)/)
      }
      const warnings = send.stderr().split('\n').filter(line => line.includes('changed since it was sent'))
      assert.deepEqual(warnings, [`verity: ${path} changed since it was sent; receivers of it get an error`], send.stderr())
      const all = send.lines().slice(1).map(line => JSON.parse(line) as { type: string, file?: string, hash?: string, error?: string, result?: string })
      // Each request is an event too (request-log.ts): those that read the changed file failed.
      assert.ok(all.some(e => e.type === 'request' && e.result === 'LeafHashMismatch'), JSON.stringify(all))
      const events = all.filter(e => e.type !== 'request')
      assert.deepEqual(events.map(e => [e.type, e.file, e.hash]), [['changed', path, hash]])
      assert.match(events[0]?.error ?? '', /^LeafHashMismatch: local data/)
    } finally {
      assert.equal(await send.stop(), 0)
    }
    assert.deepEqual(readdirSync(tmp), [])
  })
})
