import assert from 'node:assert/strict'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OutputDir, type UnsafePath } from '../../src/cli/output-dir.js'
import { encodeCollectionMeta, encodeHashSeq } from '../../store/collection.js'
import { FsStore } from '../../store/fs-store.js'
import { toHex } from '../../store/hash-text.js'
import { randomBytes, rejection } from '../helpers.js'
import { LOCAL, startVerity, verity, type Ran } from './cli-process.js'

/** The last line on stderr: the one a failing command ends with. */
const lastLine = (ran: Ran): string => ran.stderr.trim().split('\n').pop() as string

/** Every file under `dir` (relative paths) with its bytes, symlinks as `-> target`. */
function snapshot (dir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (at: string, prefix: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name)
      const info = lstatSync(path)
      if (info.isSymbolicLink()) out.set(prefix + name, `-> ${readlinkSync(path)}`)
      else if (info.isDirectory()) walk(path, `${prefix}${name}/`)
      else out.set(prefix + name, readFileSync(path).toString('hex'))
    }
  }
  walk(dir, '')
  return out
}

/** The pids the next processes are likely to get (Linux hands them out in order). */
function nextPids (count: number): number[] {
  const last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'))
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'))
  return Array.from({ length: count }, (_, i) => (last + 1 + i) % max)
}

describe('output paths: nothing written outside the output directory, duplicate names refused (CLI processes on 127.0.0.1)', function () {
  this.timeout(120000)
  let dir: string
  let home: string
  let server: { line: string, pid: number, stop: () => Promise<number | null> }
  const blob = randomBytes(200 * 1024 + 3, 41)
  const small = randomBytes(5000, 42)
  let blobHex: string
  /** name -> hash of the collections made for these tests. */
  const collections = new Map<string, string>()

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-output-'))
    home = join(dir, 'home')
    const store = await FsStore.open(join(home, 'store'))
    try {
      blobHex = toHex((await store.addBytes(blob, { tag: 'blob' })).hash)
      const { hash } = await store.addBytes(small, { tag: false })
      // Safe names, but `link` will be a symlink in the output directory.
      collections.set('link', toHex((await store.addCollection(['a.txt', 'link/pwn.txt', 'link/new.txt'].map(name => ({ name, hash })), { tag: 'link' })).hash))
      // addCollection refuses duplicates: made by hand, as another implementation could.
      for (const [tag, names] of [['same', ['a.txt', 'b.txt', 'a.txt']], ['prefix', ['d', 'e.txt', 'd/x.txt']]] as const) {
        const meta = await store.addBytes(encodeCollectionMeta([...names]), { tag: false })
        const seq = await store.addBytes(encodeHashSeq([meta.hash, ...names.map(() => hash)]), { format: 'hashseq', tag })
        collections.set(tag, toHex(seq.hash))
      }
    } finally {
      await store.close()
    }
    server = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', home, ...LOCAL])
  })
  after(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** A ticket for `hex` from the running serve. */
  const ticketOf = async (hex: string, collection: boolean): Promise<string> => {
    const made = await verity(['ticket', hex, ...(collection ? ['--collection'] : []), '--data-dir', home])
    assert.equal(made.status, 0, made.stderr)
    return made.stdout.toString('utf8').trim()
  }

  /** A fresh place: `out` (the output directory) and `outside` with a victim file in it. */
  const place = (name: string): { out: string, outside: string, victim: string } => {
    const base = join(dir, name)
    const out = join(base, 'out')
    const outside = join(base, 'outside')
    mkdirSync(out, { recursive: true })
    mkdirSync(outside)
    writeFileSync(join(outside, 'victim'), 'the victim, unchanged')
    writeFileSync(join(outside, 'pwn.txt'), 'another victim, unchanged')
    return { out, outside, victim: join(outside, 'victim') }
  }

  it('a symlink planted at every temp name the old scheme used and at the output path: replaced with --overwrite, refused without; the victim is unchanged', async () => {
    for (const command of ['export', 'get'] as const) {
      const { out, outside, victim } = place(`planted-${command}`)
      const target = join(out, 'file.bin')
      symlinkSync(victim, target)
      // The old temp name: .<hash16>.<pid>.verity-export, for serve's pid (an export runs inside
      // it) and the next 500 pids (a get runs in its own process).
      for (const pid of [server.pid, ...nextPids(500)]) {
        const name = join(out, `.${blobHex.slice(0, 16)}.${pid}.verity-export`)
        if (!existsSync(name)) symlinkSync(victim, name)
      }
      const planted = snapshot(out)
      const args = command === 'export'
        ? ['export', blobHex, target, '--data-dir', home]
        : ['get', await ticketOf(blobHex, false), '-o', target, '--data-dir', join(dir, `get-${command}`)]
      const refused = await verity(args)
      assert.equal(refused.status, 1, refused.stderr)
      assert.match(lastLine(refused), /^verity: .*file\.bin exists; pass --overwrite to replace it$/, 'a symlink there exists')
      assert.deepEqual(snapshot(out), planted)

      const replaced = await verity([...args, '--overwrite'])
      assert.equal(replaced.status, 0, replaced.stderr)
      assert.equal(readFileSync(victim, 'utf8'), 'the victim, unchanged', command)
      assert.deepEqual(readdirSync(outside).sort(), ['pwn.txt', 'victim'], 'nothing new outside')
      assert.ok(!lstatSync(target).isSymbolicLink(), 'the symlink itself was replaced')
      assert.ok(readFileSync(target).equals(blob))
      const after = snapshot(out)
      after.delete('file.bin')
      planted.delete('file.bin')
      assert.deepEqual(after, planted, 'the planted links are untouched and no temp file is left')
    }
  })

  it('a collection entry link/pwn.txt where link is a symlink to outside: UnsafePath, exit 1, nothing written anywhere', async () => {
    const hex = collections.get('link') as string
    for (const command of ['export', 'get'] as const) {
      for (const overwrite of [[], ['--overwrite']]) {
        const { out, outside } = place(`link-${command}${overwrite.length}`)
        symlinkSync(outside, join(out, 'link'))
        const before = snapshot(join(out, '..'))
        const ran = command === 'export'
          ? await verity(['export', hex, out, '--collection', ...overwrite, '--data-dir', home])
          : await verity(['get', await ticketOf(hex, true), '-o', out, ...overwrite, '--data-dir', join(dir, `get-link-${overwrite.length}`)])
        assert.equal(ran.status, 1, ran.stderr)
        // One failure (every message starts with `verity: `; a failure names its error).
        assert.equal(ran.stderr.trim().split('\n').filter(line => line.startsWith('verity: UnsafePath: ')).length, 1, ran.stderr)
        assert.match(lastLine(ran), /^verity: UnsafePath: "link\/(pwn|new)\.txt" would be written through .*\/out\/link, a symbolic link/)
        assert.deepEqual(snapshot(join(out, '..')), before, `${command} ${overwrite.join('')}: nothing changed, inside or outside`)
      }
    }
  })

  it('a collection with a name twice, or a name that is a file and a directory: DuplicateName, exit 1, before any file is written', async () => {
    for (const [tag, line] of [['same', /^verity: DuplicateName: the collection names "a\.txt" twice$/], ['prefix', /^verity: DuplicateName: the collection names "d" as a file and as a directory of "d\/x\.txt"$/]] as const) {
      const hex = collections.get(tag) as string
      for (const command of ['export', 'get'] as const) {
        const out = join(dir, `dup-${tag}-${command}`)
        const ran = command === 'export'
          ? await verity(['export', hex, out, '--data-dir', home])
          : await verity(['get', await ticketOf(hex, true), '-o', out, '--data-dir', join(dir, `get-dup-${tag}`)])
        assert.equal(ran.status, 1, ran.stderr)
        assert.match(lastLine(ran), line, `${tag} ${command}`)
        assert.ok(!existsSync(out), `${tag} ${command}: nothing written, not even the directory`)
      }
    }
  })

  it('OutputDir: the root is resolved through its symlinks; below it a symlink on the way is UnsafePath, in check and in prepare', async () => {
    const { out, outside } = place('unit')
    symlinkSync(outside, join(out, 'link'))
    symlinkSync(out, join(dir, 'unit', 'root-link'))
    const root = await OutputDir.at(join(dir, 'unit', 'root-link'))
    assert.equal(root.root, out, 'the user\'s own path is followed')
    for (const step of [async () => await root.check('link/x/y.txt'), async () => await root.prepare('link/x/y.txt')]) {
      const error = await rejection(step) as UnsafePath
      assert.deepEqual([error.name, error.entryName, error.path], ['UnsafePath', 'link/x/y.txt', join(out, 'link')])
    }
    writeFileSync(join(out, 'file'), '')
    assert.match((await rejection(async () => await root.prepare('file/y.txt'))).message, /file is not a directory, where "file\/y\.txt" needs one/)
    assert.deepEqual(await root.check('new/deeper/z.txt'), { path: join(out, 'new', 'deeper', 'z.txt'), existing: undefined })
    assert.equal(await root.prepare('new/deeper/z.txt'), join(out, 'new', 'deeper', 'z.txt'))
    assert.ok(lstatSync(join(out, 'new', 'deeper')).isDirectory())
    assert.deepEqual(readdirSync(outside).sort(), ['pwn.txt', 'victim'])
  })

  it('still writes a collection under a directory, one file to a path, and replaces only with --overwrite', async () => {
    const out = join(dir, 'plain')
    const hex = collections.get('link') as string
    const ran = await verity(['export', hex, out, '--collection', '--data-dir', home])
    assert.equal(ran.status, 0, ran.stderr)
    assert.deepEqual([...snapshot(out).keys()].sort(), ['a.txt', 'link/new.txt', 'link/pwn.txt'])
    assert.ok(readFileSync(join(out, 'link', 'pwn.txt')).equals(small))
    assert.equal((await verity(['export', hex, out, '--collection', '--data-dir', home])).status, 1)
    assert.equal((await verity(['export', hex, out, '--collection', '--overwrite', '--data-dir', home])).status, 0)
    const got = await verity(['get', await ticketOf(blobHex, false), '-o', join(out, 'deeper', 'blob.bin'), '--data-dir', join(dir, 'get-plain')])
    assert.equal(got.status, 0, got.stderr)
    assert.ok(readFileSync(join(out, 'deeper', 'blob.bin')).equals(blob))
  })
})
