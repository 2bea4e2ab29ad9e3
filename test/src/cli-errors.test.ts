import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describePeer } from '../../src/cli/peers.js'
import { BlobTicket } from '../../src/ticket.js'
import { randomBytes, repoRoot } from '../helpers.js'
import { LOCAL, startVerity, verity, type Ran } from './cli-process.js'

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')

/** What the libraries say, which the user must not meet without -v. */
const RAW = /ECONNREFUSED|String multiaddr|Invalid IPv4|Dialed peer|EncryptionFailedError|NoValidAddressesError|identity key|LeafHashMismatch|Internal: peer|message ends at byte|NotFound: peer|^\s+at /m

/**
 * A failed command as a new user meets it: exit `code`, every line on stderr starts once with
 * `verity: `, none carries a library's text; its last line (the failure) is returned.
 */
function failed (ran: Ran, code: number): string {
  assert.equal(ran.status, code, ran.stderr)
  const lines = ran.stderr.trimEnd().split('\n')
  for (const line of lines) {
    assert.ok(line.startsWith('verity: ') && !line.startsWith('verity: verity:'), `each line starts once with "verity: ": ${JSON.stringify(line)}`)
  }
  assert.doesNotMatch(ran.stderr, RAW, 'no library text without -v')
  return lines[lines.length - 1] as string
}

/** The same command with -v: the library's text is there, on lines of their own (`verity: ... detail: ...`). */
function detailed (ran: Ran, raw: RegExp): void {
  const details = ran.stderr.split('\n').filter(line => / ?detail: /.test(line))
  assert.ok(details.length > 0 && details.every(line => line.startsWith('verity: ')), ran.stderr)
  assert.match(details.join('\n'), raw)
}

const peerId = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('verity\'s errors as a new user meets them: in verity\'s words, what to do next, the library\'s text only with -v', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-errors-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))
  const hash = 'ab'.repeat(32)

  it('a bad multiaddr and a bad ticket: a usage error naming what is wrong', async () => {
    const peer = await peerId()
    const args = ['get', hash, '--provider', `/ip4/1.2.3/tcp/5/p2p/${peer}`, '--data-dir', join(dir, 'A')]
    assert.match(failed(await verity(args), 2), /^verity: --provider \/ip4\/1\.2\.3\/tcp\/5\/p2p\/12D3KooW\S+ is not a ticket or a multiaddr ending in \/p2p\/<peer id>: it is not a multiaddr \(such as /)
    detailed(await verity([...args, '-v']), /Invalid IPv4 address/)
    const ticket = ['get', 'blobaaaaaaaaaaaaaaaaaaaaaaaaaa', '--data-dir', join(dir, 'A')]
    assert.equal(failed(await verity(ticket), 2), 'verity: not a ticket or a 64-digit hex hash: blobaaaaaaaaaaaaaaaaaaaaaaaaaa (the ticket is cut short or mistyped: copy all of it) (verity get --help for usage)')
    detailed(await verity([...ticket, '-v']), /ticket does not decode/)
    assert.equal(failed(await verity(['get', 'abc123', '--data-dir', join(dir, 'A')]), 2), 'verity: not a ticket or a 64-digit hex hash: abc123 (a hash has 64 hex digits, this has 6) (verity get --help for usage)')
  })

  it('a provider that refuses the connection, and one given with no address: what happened and what to do', async () => {
    const closed = createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise(resolve => closed.close(resolve))
    const peer = await peerId()
    const args = ['get', hash, '--provider', `/ip4/127.0.0.1/tcp/${port}/p2p/${peer}`, '--data-dir', join(dir, 'R')]
    const ran = await verity(args)
    assert.match(failed(ran, 1), /: the connection was refused \(nothing listens at that address: is the sender still running there\?\); tried .*; check that the sender is running and reachable from here, then run the same command again \(what verified is kept\)$/)
    assert.ok(ran.stderr.includes(`verity: ${peer}: the connection was refused (nothing listens at that address: is the sender still running there?); retrying\n`), ran.stderr)
    const verbose = await verity([...args, '-v'])
    detailed(verbose, /ECONNREFUSED/)
    assert.match(verbose.stderr, /\nverity: detail: no provider could deliver 1 blob\(s\)/, 'the Downloader\'s own text too')
    const bare = await verity(['get', hash, '--provider', `/p2p/${peer}`, '--data-dir', join(dir, 'R')])
    const last = failed(bare, 1)
    assert.ok(bare.stderr.startsWith(`verity: connecting to ${peer} (addresses this node knows)...\n`), bare.stderr)
    assert.match(last, /: no address to connect to \(give a multiaddr with one, .*; give the provider's address in the multiaddr, or its ticket$/)
  })

  it('the wrong peer at an address, a provider without the blob, and a provider whose copy is corrupt', async () => {
    const file = join(dir, 'payload.bin')
    writeFileSync(file, randomBytes(300000, 31))
    const send = await startVerity(['send', file, '--ticket-only', ...LOCAL])
    try {
      // A real node answers at the ticket's address, but the peer id asked for is another's.
      const addr = describePeer(BlobTicket.parse(send.line)).addrs[0] as string
      const wrong = await verity(['get', hash, '--provider', `${addr}/p2p/${await peerId()}`, '--data-dir', join(dir, 'W')])
      assert.match(failed(wrong, 1), /: the handshake failed: another node, or a program that is no libp2p node, answers at that address; tried .*; check the address and the peer id, or ask the sender for a fresh ticket$/)
      // The same as a seed of `get <url>`, and a seed nobody listens for: each said, then both.
      const nobody = await peerId()
      const seeds = await verity(['get', 'http://example.invalid/file', '--seed', `/ip4/127.0.0.1/tcp/9/p2p/${nobody}`, '--seed', `${addr}/p2p/${await peerId()}`, '-o', join(dir, 'seeded'), '--data-dir', join(dir, 'W')])
      // In the order of their ring, from the URL's task id.
      const last = failed(seeds, 1)
      assert.match(last, /^verity: NoSeedAvailable: no seed could take the request; tried /)
      assert.ok(last.includes(`${nobody}: the connection was refused (`) && last.includes(': the handshake failed: another node'), last)
      // The sender has its file, not this hash.
      const lacks = await verity(['get', hash, '--provider', send.line, '--data-dir', join(dir, 'W')])
      assert.match(failed(lacks, 1), /: it does not have it \(or not all of it\); tried .*; check the hash, or ask for a ticket from a node that has it$/)
    } finally {
      await send.stop()
    }
    // A store whose file rotted on disk: its node finds out as it reads, and says it failed.
    const store = join(dir, 'rotten')
    const added = await verity(['add', file, '--data-dir', store])
    assert.equal(added.status, 0, added.stderr)
    const blob = added.stdout.toString('utf8').split(' ')[0] as string
    const data = join(store, 'store', 'data', readdirSync(join(store, 'store', 'data')).find(name => name.startsWith(blob)) as string)
    const fd = openSync(data, 'r+')
    writeSync(fd, Buffer.alloc(16, 0xff), 0, 16, 100000)
    closeSync(fd)
    const serve = await startVerity(['serve', '--data-dir', store, '--http', '127.0.0.1:0', '--json', ...LOCAL])
    try {
      const ready = JSON.parse(serve.line) as { addrs: string[] }
      const args = ['get', blob, '--provider', ready.addrs[0] as string, '-o', join(dir, 'rotten.bin'), '--data-dir', join(dir, 'C')]
      const corrupt = await verity(args)
      assert.match(failed(corrupt, 1), /: it failed on its side \(its copy may be corrupt, or its disk full\); tried .*; fetch it from another provider \(--provider\); the provider's owner can run verity verify --repair$/)
      detailed(await verity([...args, '-v']), /LeafHashMismatch/)
      assert.equal(existsSync(join(dir, 'rotten.bin')), false, 'nothing written')
    } finally {
      await serve.stop()
    }
  })

  it('a URL whose server refuses the connection: said as the server\'s, not as Node\'s ECONNREFUSED', async () => {
    const closed = createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/file.bin`
    await new Promise(resolve => closed.close(resolve))
    const args = ['add', url, '--data-dir', join(dir, 'U')]
    assert.equal(failed(await verity(args), 1), `verity: ${url}: the server refused the connection (is it running, and is the port right?); try again later, or check the URL`)
    detailed(await verity([...args, '-v']), /ECONNREFUSED/)
  })

  it('an output that is full, an unknown hash with nobody to ask, a data directory that is not there: one line each, no stack trace', async () => {
    const store = join(dir, 'F')
    const added = await verity(['add', join(dir, 'payload.bin'), '--data-dir', store])
    assert.equal(added.status, 0, added.stderr)
    const blob = added.stdout.toString('utf8').split(' ')[0] as string
    // stdout on a full device (/dev/full: every write fails with ENOSPC).
    if (existsSync('/dev/full')) {
      for (const command of [['cat', blob], ['get', blob, '-o', '-']]) {
        const full = openSync('/dev/full', 'w')
        try {
          const ran = spawnSync(process.execPath, [cli, ...command, '--data-dir', store], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 30000 })
          const line = failed({ status: ran.status, stdout: Buffer.alloc(0), stderr: ran.stderr }, 1)
          assert.equal(line, 'verity: writing the output: no space left on the device (ENOSPC); free some space, then run the same command again (what was fetched is kept in the store)')
          assert.equal(ran.stderr.split('\n').filter(text => text.includes('ENOSPC')).length, 1, 'said once')
        } finally {
          closeSync(full)
        }
      }
    }
    assert.equal(failed(await verity(['get', hash, '--data-dir', store]), 1), `verity: ${hash} is not here and no provider was given (a ticket names one; or --provider, or --dht)`)
    const missing = join(dir, 'no-such-dir')
    assert.equal(failed(await verity(['ls', '--data-dir', missing]), 1), `verity: NoStore: no store at ${missing}: check --data-dir (or $VERITY_DIR); verity add, get, send or serve make one there`)
  })
})
