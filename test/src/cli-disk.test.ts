import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from '../helpers.js'
import { mountTmpfs, type Tmpfs } from '../tmpfs.js'
import { LOCAL, startVerity, verity, type Ran } from './cli-process.js'

const MiB = 1024 * 1024
const text = (ran: Ran): string => ran.stdout.toString('utf8')
const lines = (ran: Ran): string[] => text(ran).trim().split('\n').filter(line => line !== '')
const events = (ran: Ran): Array<Record<string, unknown>> => lines(ran).map(line => JSON.parse(line) as Record<string, unknown>)

/**
 * A failed command: exit 1 and one line on stderr, naming `name`, with no stack trace (after the
 * lines a fetch says whom it connects to).
 */
function failedWith (ran: Ran, name: string): string {
  assert.equal(ran.status, 1, ran.stderr)
  const said = ran.stderr.split('\n').filter(line => line !== '' && !line.startsWith('verity: connecting to '))
  assert.equal(said.length, 1, `one line on stderr, got:\n${ran.stderr}`)
  const line = said[0] as string
  assert.ok(line.startsWith(`verity: ${name}: `), line)
  assert.doesNotMatch(ran.stderr, /^\s+at /m)
  return line
}

describe('verity on a full or read-only disk: CLI processes on a real 10 MiB tmpfs (root only)', function () {
  this.timeout(120000)
  const mounts: Tmpfs[] = []
  let work: string
  let provider: { line: string, stop: () => Promise<number | null> } | undefined
  const blobs: Record<'big' | 'mid' | 'small', { bytes: Uint8Array, hash: string, ticket: string, path: string }> = {} as never

  /** A fresh tmpfs for one test, unmounted in `after` whatever happens. */
  function mount (size: string): Tmpfs {
    const mounted = mountTmpfs(size)
    if ('cannot' in mounted) throw new Error(mounted.cannot)
    mounts.push(mounted)
    return mounted
  }

  before(async function () {
    const probe = mountTmpfs('1m')
    if ('cannot' in probe) {
      process.stderr.write(`      skipped: ${probe.cannot}\n`)
      this.skip()
    }
    probe.unmount()
    work = mkdtempSync(join(tmpdir(), 'verity-cli-disk-'))
    const home = join(work, 'provider')
    const sizes = { big: 20 * MiB, mid: 6 * MiB, small: 100 * 1024 + 1 }
    for (const [name, size] of Object.entries(sizes) as Array<[keyof typeof sizes, number]>) {
      const path = join(work, `${name}.bin`)
      const bytes = randomBytes(size, size)
      writeFileSync(path, bytes)
      const added = await verity(['add', path, '--data-dir', home])
      assert.equal(added.status, 0, added.stderr)
      blobs[name] = { bytes, hash: text(added).split('  ')[0] as string, ticket: '', path }
    }
    // A provider with its data directory off the tmpfs.
    provider = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', home, ...LOCAL])
    for (const blob of Object.values(blobs)) blob.ticket = text(await verity(['ticket', blob.hash, '--data-dir', home])).trim()
  })

  after(async () => {
    try {
      await provider?.stop()
    } finally {
      for (const disk of mounts) disk.unmount()
      if (work !== undefined) rmSync(work, { recursive: true, force: true })
    }
  })

  it('get of a blob larger than the free space exits 1 with StoreFull in one line; ls, tag rm and gc work on the still-full disk; then get resumes and completes', async () => {
    const disk = mount('10m')
    const at = async (...args: string[]): Promise<Ran> => await verity([...args, '--data-dir', join(disk.dir, 'd')])
    const { big, mid, small } = blobs
    assert.equal((await at('add', small.path, '--tag', 'keep')).status, 0)
    assert.equal((await at('tag', 'set', 'mid', mid.hash)).status, 0, 'a tag keeps mid, absent yet, once it comes')
    const first = await at('cat', mid.ticket, '--offset', '0', '--length', String(MiB))
    assert.ok(first.stdout.equals(Buffer.from(mid.bytes.subarray(0, MiB))), first.stderr)

    const got = await at('get', big.ticket, '-o', join(work, 'big.out'))
    const line = failedWith(got, 'StoreFull')
    // Two requests may import at once (the Downloader asks for the next stripe before the last
    // ends): the one that fails second finds the reserve let go and says so. Either comes first.
    assert.match(line, /^verity: StoreFull: no space left on device writing .*\/d\/store\/data\/[0-9a-f]{64}\.data(: less than \d+ MiB free, and the store keeps \d+ MiB for its own records)? \(free space or run verity gc\)$/)
    assert.ok(disk.free() < 64 * 1024, `${disk.free()} bytes free: the disk is full`)

    // Cold, on the full disk: the store opens (its reserve makes room for LevelDB's log).
    const listed = await at('ls', '--json')
    assert.equal(listed.status, 0, listed.stderr)
    const byHash = new Map(events(listed).map(e => [e.hash as string, e as { status: string, presentBytes: number }]))
    assert.equal(byHash.get(small.hash)?.status, 'complete')
    assert.ok((byHash.get(big.hash)?.presentBytes ?? 0) > 2 * MiB, 'what big got before the disk filled is kept')
    assert.ok((byHash.get(mid.hash)?.presentBytes ?? 0) >= MiB)
    failedWith(await at('get', mid.ticket, '-o', join(work, 'mid.out')), 'StoreFull')
    assert.equal((await at('tag', 'set', 'spare', small.hash)).status, 0)
    assert.equal((await at('tag', 'rm', 'spare')).status, 0)
    assert.ok(disk.free() < 64 * 1024, 'still full')
    const collected = await at('gc')
    assert.equal(collected.status, 0, collected.stderr)
    assert.deepEqual(lines(collected), [big.hash], 'the untagged partial goes; mid (tagged) and small stay')

    const resumed = await at('get', mid.ticket, '-o', join(work, 'mid.out'), '--json')
    assert.equal(resumed.status, 0, resumed.stderr)
    const fetched = events(resumed).find(e => e.type === 'fetched') as { bytes: number, localBytes: number }
    assert.equal(fetched.bytes, mid.bytes.length)
    assert.ok(fetched.localBytes >= MiB, `resumed: ${fetched.localBytes} bytes were already here`)
    assert.ok(readFileSync(join(work, 'mid.out')).equals(Buffer.from(mid.bytes)))
    const hashed = await verity(['hash', join(work, 'mid.out')])
    assert.equal(text(hashed).split('  ')[0], mid.hash, 'the file written hashes to the blob asked for')
  })

  it('serve answers 507 when an on-demand fetch fills the disk, and goes on serving; ls, tag rm and gc run in it while full', async () => {
    const disk = mount('10m')
    const data = join(disk.dir, 'd')
    const at = async (...args: string[]): Promise<Ran> => await verity([...args, '--data-dir', data])
    const { big, mid, small } = blobs
    assert.equal((await at('add', small.path, '--tag', 'keep')).status, 0)
    const server = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', data, '--provider', big.ticket, ...LOCAL])
    try {
      const full = await fetch(`${server.line}/blob/${big.hash}`)
      assert.equal(full.status, 507)
      assert.match(await full.text(), /^StoreFull: no space left on device writing /)
      assert.ok(disk.free() <= 2 * MiB, `${disk.free()} bytes free: only the store's reserve, let go for its records`)
      const health = await fetch(`${server.line}/health`)
      assert.equal(health.status, 200)
      const kept = await fetch(`${server.line}/blob/${small.hash}`)
      assert.equal(kept.status, 200)
      assert.ok(Buffer.from(await kept.arrayBuffer()).equals(Buffer.from(small.bytes)))

      // Through the running serve's control socket, on the full disk.
      const listed = await at('ls', '--json')
      assert.equal(listed.status, 0, listed.stderr)
      assert.ok(events(listed).some(e => e.hash === big.hash && e.status === 'partial'))
      assert.equal((await at('tag', 'set', 'spare', small.hash)).status, 0)
      assert.equal((await at('tag', 'rm', 'spare')).status, 0)
      const collected = await at('gc')
      assert.equal(collected.status, 0, collected.stderr)
      assert.deepEqual(lines(collected), [big.hash])

      // The room gc made: the next fetch goes through (its provider serves mid too).
      const after = await fetch(`${server.line}/blob/${mid.hash}`)
      assert.equal(after.status, 200)
      assert.ok(Buffer.from(await after.arrayBuffer()).equals(Buffer.from(mid.bytes)))
    } finally {
      assert.equal(await server.stop(), 0, 'serve ends cleanly: nothing killed it')
    }
  })

  it('a read-only data directory gives StoreReadOnly naming the store (or the file it could not make), in one line', async () => {
    const disk = mount('8m')
    const data = join(disk.dir, 'd')
    assert.equal((await verity(['add', blobs.small.path, '--data-dir', data])).status, 0)
    assert.equal((await verity(['ticket', blobs.small.hash, '--addr', '127.0.0.1:1', '--data-dir', data])).status, 0, 'the node key is made')
    assert.equal((await verity(['add', blobs.small.path, '--data-dir', join(disk.dir, 'keyless')])).status, 0)
    disk.readOnly(true)
    try {
      for (const args of [['ls'], ['get', blobs.mid.ticket], ['serve', '--http', '127.0.0.1:0', ...LOCAL]]) {
        const line = failedWith(await verity([...args, '--data-dir', data]), 'StoreReadOnly')
        assert.ok(line.includes(`read-only file system: the store in ${join(data, 'store')} cannot be opened`), line)
        assert.match(line, /no read-only mode/)
      }
      // A node's first start makes its key: that is the first write refused.
      const line = failedWith(await verity(['get', blobs.mid.ticket, '--data-dir', join(disk.dir, 'keyless')]), 'StoreReadOnly')
      assert.ok(line.includes(`read-only file system: cannot write ${join(disk.dir, 'keyless', 'identity.key')}`), line)
    } finally {
      disk.readOnly(false)
    }
  })
})
