import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describePeer } from '../../src/cli/peers.js'
import { BlobTicket } from '../../src/ticket.js'
import { randomBytes } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

/** Waits (at most 10 s) until `check` holds. */
async function until (check: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.ok(check(), what())
}

describe('verity serve --provider: what its on-demand fetches say, as get says it', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-serve-fetch-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('"connecting to" a provider it has no connection to, each retry and failure in verity\'s words, and a fetch no provider delivered; a provider connected already is not said again', async () => {
    const file = join(dir, 'wanted.bin')
    const data = randomBytes(1 << 20, 41)
    writeFileSync(file, data)
    const hash = (await verity(['hash', file])).stdout.toString('utf8').split(' ')[0] as string
    const send = await startVerity(['send', file, '--ticket-only', ...LOCAL])
    // A provider nobody listens for: refused at once, each time it is asked.
    const closed = createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise(resolve => closed.close(resolve))
    const dead = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const sender = describePeer(BlobTicket.parse(send.line)).id
    const serve = await startVerity(['serve', '--http', '127.0.0.1:0', '--provider', send.line, '--provider', `/ip4/127.0.0.1/tcp/${port}/p2p/${dead}`, '--data-dir', join(dir, 'S'), ...LOCAL])
    try {
      await until(() => serve.stderr().includes(`verity: connected to ${sender}\n`) && serve.stderr().includes(`verity: could not connect to ${dead}`), serve.stderr)
      const start = serve.stderr().length
      const said = (): string[] => serve.stderr().slice(start).split('\n').filter(line => line !== '')

      // A hash neither provider has: both are asked.
      const nobody = 'cd'.repeat(32)
      const missing = await fetch(`${serve.line}/blob/${nobody}`)
      assert.ok(missing.status === 404 || missing.status === 502, String(missing.status))
      await missing.arrayBuffer()
      await until(() => said().some(line => line.startsWith('verity: could not fetch')), () => said().join('\n'))
      const lines = said()
      const refused = `verity: ${dead}: the connection was refused (nothing listens at that address: is the sender still running there?); `
      assert.ok(lines.includes(`verity: connecting to ${dead} (/ip4/127.0.0.1/tcp/${port})...`), lines.join('\n'))
      assert.ok(lines.includes(`${refused}retrying`), lines.join('\n'))
      assert.ok(lines.includes(`${refused}no more requests to it`), lines.join('\n'))
      assert.ok(lines.includes(`verity: ${sender}: it does not have it (or not all of it); it is not asked for that again`), lines.join('\n'))
      assert.ok(lines.includes(`verity: could not fetch ${nobody} for the gateway: no provider delivered it (the lines above say why)`), lines.join('\n'))
      assert.ok(!lines.some(line => line.startsWith(`verity: connecting to ${sender} `)), 'connected already: not said again')
      // Each line is verity's or the access log's; no library text.
      for (const line of lines) assert.ok(line.startsWith('verity: ') || line.startsWith('127.0.0.1 - - ['), line)
      assert.doesNotMatch(lines.join('\n'), /ECONNREFUSED|NotFound: |DownloadFailed/)

      // The blob the sender has: served, whatever the other provider does.
      const got = await fetch(`${serve.line}/blob/${hash}`)
      assert.equal(got.status, 200)
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(data)))
    } finally {
      assert.equal(await serve.stop(), 0)
      await send.stop()
    }
  })
})
