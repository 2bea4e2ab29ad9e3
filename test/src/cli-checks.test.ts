import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')

describe('verity checks before work: the store, the output, peers and addresses', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-checks-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('a data directory that does not exist is made by add (and commands that fetch) only; ls, export, tag, gc, verify, ticket and cat with nobody to fetch from say "no store at" and make nothing', async () => {
    const typo = join(dir, 'typo')
    const hash = 'ab'.repeat(32)
    for (const args of [['ls'], ['export', hash, join(dir, 'out')], ['tag', 'ls'], ['gc'], ['verify'], ['ticket', hash, '--addr', '127.0.0.1:1'], ['cat', hash]]) {
      const ran = await verity([...args, '--data-dir', typo])
      assert.equal(ran.status, 1, `${args[0] as string}: ${ran.stderr}`)
      assert.equal(ran.stderr, `verity: NoStore: no store at ${typo}: check --data-dir (or $VERITY_DIR); verity add, get, send or serve make one there\n`, args[0])
      assert.equal(existsSync(typo), false, `${args[0] as string} made ${typo}`)
    }
    writeFileSync(join(dir, 'a.txt'), 'a')
    const added = await verity(['add', join(dir, 'a.txt'), '-q', '--data-dir', typo])
    assert.equal(added.status, 0, added.stderr)
    assert.equal((await verity(['ls', '--data-dir', typo])).status, 0, 'then the others find it')
  })

  it('get checks that it can write where it is told before it fetches a byte: a file on the way', async () => {
    writeFileSync(join(dir, 'payload.bin'), 'payload')
    const send = await startVerity(['send', join(dir, 'payload.bin'), '--ticket-only', ...LOCAL])
    try {
      writeFileSync(join(dir, 'plain-file'), 'x')
      const store = join(dir, 'never-made')
      const under = await verity(['get', send.line, '-o', join(dir, 'plain-file', 'out.bin'), '--data-dir', store])
      assert.equal(under.status, 1)
      assert.equal(under.stderr, `verity: OutputNotWritable: cannot write ${join(dir, 'plain-file', 'out.bin')}: ${join(dir, 'plain-file')} is not a directory; nothing was fetched: give another place with -o\n`)
      assert.equal(existsSync(store), false, 'no store made, so nothing fetched')
      const fine = await verity(['get', send.line, '-o', join(dir, 'got', 'deep', 'payload.bin'), '--data-dir', join(dir, 'G')])
      assert.equal(fine.status, 0, fine.stderr)
    } finally {
      await send.stop()
    }
  })

  it('get checks that it may write in the output directory before it fetches a byte (EACCES)', async function () {
    const asRoot = process.getuid?.() === 0
    // Root writes anywhere, so as root the get runs as nobody, who must be able to read the CLI:
    // a checkout under a private directory (a mktemp -d clone) is out of its reach.
    if (asRoot && spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(cli)}, require('fs').constants.R_OK)`], { uid: 65534, gid: 65534 }).status !== 0) {
      this.skip() // nobody cannot read this checkout's CLI; the check runs from a checkout others can read
    }
    writeFileSync(join(dir, 'payload-2.bin'), 'payload')
    const send = await startVerity(['send', join(dir, 'payload-2.bin'), '--ticket-only', ...LOCAL])
    try {
      // A directory without write permission.
      const locked = join(dir, 'locked')
      mkdirSync(locked)
      chmodSync(locked, 0o555)
      const home = join(dir, 'nobody-home')
      mkdirSync(home)
      chmodSync(home, 0o777)
      chmodSync(dir, 0o755) // mkdtemp's 0700 would stop nobody before the locked directory
      const ran = spawnSync(process.execPath, [cli, 'get', send.line, '-o', join(locked, 'sub', 'out.bin'), '--data-dir', join(home, 'store')],
        { encoding: 'utf8', env: { ...process.env, HOME: home }, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) })
      assert.equal(ran.status, 1, ran.stderr)
      assert.equal(ran.stderr, `verity: OutputNotWritable: cannot write ${join(locked, 'sub', 'out.bin')}: ${locked} is not writable (EACCES); nothing was fetched: give another place with -o\n`)
      assert.equal(existsSync(join(home, 'store')), false, 'no store made, so nothing fetched')
    } finally {
      await send.stop()
    }
  })

  it('a bad --listen, --provider or --seed is a usage error in the CLI\'s words, not the library\'s', async () => {
    const listen = await verity(['send', join(dir, 'payload.bin'), '--listen', 'foo'])
    assert.deepEqual([listen.status, listen.stderr], [2, 'verity: --listen takes a multiaddr such as /ip4/0.0.0.0/tcp/0 or /ip4/0.0.0.0/udp/0/quic-v1, not foo (verity send --help for usage)\n'])
    const serve = await verity(['serve', '--listen', 'tcp/0', '--data-dir', join(dir, 'S')])
    assert.equal(serve.status, 2)
    assert.doesNotMatch(serve.stderr, /String multiaddr/)
    for (const bad of ['/bogus', 'abc', 'blobnonsense']) {
      const ran = await verity(['get', 'ab'.repeat(32), '--provider', bad, '--data-dir', join(dir, 'P')])
      assert.equal(ran.status, 2, ran.stderr)
      assert.ok(ran.stderr.startsWith(`verity: --provider ${bad} is not a ticket or a multiaddr ending in /p2p/<peer id>: `), ran.stderr)
    }
    // Addresses that parse but cannot be listened on: not this machine's; a port that is taken.
    const away = await verity(['send', join(dir, 'payload.bin'), '--listen', '/ip4/192.0.2.1/tcp/0'])
    assert.deepEqual([away.status, away.stderr], [1, 'verity: ListenFailed: cannot listen on /ip4/192.0.2.1/tcp/0: not an address of this machine, or the port is taken; give other --listen addresses (or none: all interfaces, any port)\n'])
    const taken = createServer()
    await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
    try {
      const port = (taken.address() as AddressInfo).port
      const busy = await verity(['serve', '--http', String(port), '--data-dir', join(dir, 'S'), ...LOCAL])
      assert.deepEqual([busy.status, busy.stderr], [1, `verity: ListenFailed: cannot serve HTTP on 127.0.0.1:${port} (EADDRINUSE): give --http another [host:]port\n`])
    } finally {
      taken.close()
    }
    const seed = await verity(['preheat', 'http://example.com/x', '--seed', 'nope'])
    assert.equal(seed.status, 2)
    assert.match(seed.stderr, /^verity: --seed nope is not a ticket or a multiaddr/)
  })

  it('export to stdout of a collection says so without naming -o, an option export does not have', async () => {
    const tree = join(dir, 'tree')
    mkdirSync(tree)
    writeFileSync(join(tree, 'one'), '1')
    writeFileSync(join(tree, 'two'), '2')
    const store = join(dir, 'E')
    const added = await verity(['add', tree, '-q', '--data-dir', store])
    const hash = added.stdout.toString('utf8').slice(0, 64)
    const ran = await verity(['export', hash, '-', '--collection', '--data-dir', store])
    assert.equal(ran.status, 2)
    assert.equal(ran.stderr, 'verity: stdout (-) takes a single blob; this collection has 2 files: name a directory for them instead (verity export --help for usage)\n')
  })
})
