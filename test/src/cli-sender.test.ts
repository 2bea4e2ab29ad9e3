import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { clfEscape, clfLine, clfTime } from '../../src/http/access-log.js'
import { randomBytes } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

/** One line the sending side says per request: peer, what, bytes, time, result. */
const REQUEST_LINE = /^verity: (12D3KooW\w+) (get|getMany|observe|push) (.+): ([\d.]+ (?:B|KiB|MiB)) in \d+\.\d s, (sent|failed \(\w+\))$/

/** A raw HTTP GET (the URL exactly as given, unlike fetch): status and body length. */
async function rawGet (url: string, path: string): Promise<{ status: number, bytes: number }> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    request({ host: hostname, port, path, method: 'GET' }, res => {
      let bytes = 0
      res.on('data', (chunk: Buffer) => { bytes += chunk.length }).on('end', () => { resolve({ status: res.statusCode ?? 0, bytes }) })
    }).on('error', reject).end()
  })
}

/** Waits until `check` holds (a log line written after a response ended). */
async function until (check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.ok(check(), what)
}

describe('the sending side: send and serve say each request; serve keeps an access log', function () {
  this.timeout(120000)
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'verity-cli-sender-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('the access log line is the Common Log Format, with the request line escaped', () => {
    const time = new Date(Date.UTC(2026, 10, 9, 7, 4, 5))
    assert.equal(clfTime(time), '[09/Nov/2026:07:04:05 +0000]')
    assert.equal(clfEscape('GET /a"b\\c\nd\u00e9 HTTP/1.1'), 'GET /a\\"b\\\\c\\x0ad\\xc3\\xa9 HTTP/1.1')
    assert.equal(clfLine({ host: '127.0.0.1', time, method: 'GET', url: '/blob/ab', httpVersion: '1.1', status: 206, bytes: 1024 }),
      '127.0.0.1 - - [09/Nov/2026:07:04:05 +0000] "GET /blob/ab HTTP/1.1" 206 1024')
    assert.equal(clfLine({ host: undefined, time, method: 'HEAD', url: '/x', httpVersion: '1.0', status: 404, bytes: 0 }),
      '- - - [09/Nov/2026:07:04:05 +0000] "HEAD /x HTTP/1.0" 404 -')
  })

  it('send says one line per request of each receiver (peer, what, bytes, time, result), and --json has them as events', async () => {
    const tree = join(dir, 'tree')
    mkdirSync(tree)
    writeFileSync(join(tree, 'big.bin'), randomBytes(2 * 1024 * 1024, 11))
    writeFileSync(join(tree, 'small.txt'), 'small\n')
    const send = await startVerity(['send', tree, '--ticket-only', ...LOCAL])
    try {
      for (const n of [1, 2, 3]) {
        const got = await verity(['get', send.line, '-o', join(dir, `out${n}`), '--data-dir', join(dir, `G${n}`)])
        assert.equal(got.status, 0, got.stderr)
      }
      await until(() => new Set(send.stderr().split('\n').map(line => REQUEST_LINE.exec(line)?.[1]).filter(Boolean)).size === 3, send.stderr())
      const lines = send.stderr().split('\n').filter(line => REQUEST_LINE.test(line))
      for (const line of lines) {
        const [, , , what, , result] = REQUEST_LINE.exec(line) as RegExpExecArray
        assert.equal(result, 'sent', line)
        assert.doesNotMatch(what as string, /^[0-9a-f]{12}/, `a blob this send sent is named, not hashed: ${line}`)
      }
      assert.ok(lines.some(line => /big\.bin/.test(line)), send.stderr())
    } finally {
      assert.equal(await send.stop(), 0)
    }
    const json = await startVerity(['send', tree, '--json', ...LOCAL])
    try {
      const ticket = (JSON.parse(json.line) as { ticket: string }).ticket
      assert.equal((await verity(['get', ticket, '-o', join(dir, 'out-json'), '--data-dir', join(dir, 'GJ')])).status, 0)
      await until(() => json.lines().some(line => line.includes('"type":"request"')), json.lines().join('\n'))
      const events = json.lines().map(line => JSON.parse(line) as Record<string, unknown>).filter(event => event.type === 'request')
      for (const event of events) {
        assert.deepEqual(Object.keys(event).sort(), ['bytes', 'ms', 'peer', 'result', 'type', 'what'])
        assert.equal(event.result, 'ok')
      }
      assert.equal(events.reduce((sum, event) => sum + (event.bytes as number), 0) >= 2 * 1024 * 1024, true, 'the file\'s bytes among them')
      assert.equal(json.stderr(), '', '--json: nothing on stderr')
    } finally {
      await json.stop()
    }
  })

  it('serve says requests with -v only, and logs each HTTP request in the Common Log Format to stderr or --access-log', async () => {
    const data = join(dir, 'S')
    const file = join(dir, 'served.bin')
    writeFileSync(file, randomBytes(300000, 12))
    const hash = (await verity(['add', file, '-q', '--data-dir', data])).stdout.toString('utf8').slice(0, 64)
    const quietServe = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', data, ...LOCAL])
    let ticket: string
    try {
      ticket = (await verity(['ticket', hash, '--data-dir', data])).stdout.toString('utf8').trim()
      assert.equal((await verity(['get', ticket, '-o', join(dir, 'a.bin'), '--data-dir', join(dir, 'GA')])).status, 0)
      assert.deepEqual(await rawGet(quietServe.line, `/blob/${hash}`), { status: 200, bytes: 300000 })
      assert.equal((await rawGet(quietServe.line, '/nothing"here')).status, 404)
      await until(() => quietServe.stderr().includes('/nothing'), quietServe.stderr())
      const stderr = quietServe.stderr()
      assert.match(stderr, new RegExp(`^127\\.0\\.0\\.1 - - \\[\\d{2}/\\w{3}/\\d{4}:\\d{2}:\\d{2}:\\d{2} \\+0000\\] "GET /blob/${hash} HTTP/1\\.1" 200 300000$`, 'm'))
      assert.match(stderr, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/nothing\\"here HTTP\/1\.1" 404 \d+$/m)
      assert.equal(stderr.split('\n').filter(line => REQUEST_LINE.test(line)).length, 0, 'no request lines without -v')
    } finally {
      assert.equal(await quietServe.stop(), 0)
    }
    const logFile = join(dir, 'access.log')
    const loud = await startVerity(['serve', '-v', '--http', '127.0.0.1:0', '--access-log', logFile, '--data-dir', data, ...LOCAL])
    try {
      ticket = (await verity(['ticket', hash, '--data-dir', data])).stdout.toString('utf8').trim()
      assert.equal((await verity(['get', ticket, '-o', join(dir, 'b.bin'), '--data-dir', join(dir, 'GB')])).status, 0)
      await until(() => loud.stderr().split('\n').some(line => REQUEST_LINE.test(line)), loud.stderr())
      assert.match(loud.stderr(), new RegExp(`^verity: 12D3KooW\\w+ get ${hash.slice(0, 12)}( \\(part\\))?: [\\d.]+ KiB in \\d+\\.\\d s, sent$`, 'm'))
      assert.equal((await rawGet(loud.line, '/health')).status, 200)
      await until(() => readFileSync(logFile, 'utf8').includes('/health'), 'the line in the file')
      assert.match(readFileSync(logFile, 'utf8'), /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/health HTTP\/1\.1" 200 \d+\n/)
      assert.doesNotMatch(loud.stderr(), /"GET \/health/, 'with --access-log, not on stderr')
    } finally {
      assert.equal(await loud.stop(), 0)
    }
    const badLog = await verity(['serve', '--http', '127.0.0.1:0', '--access-log', join(dir, 'no-such-dir', 'x.log'), '--data-dir', data])
    assert.equal(badLog.status, 1)
    assert.equal(badLog.stderr, `verity: --access-log ${join(dir, 'no-such-dir', 'x.log')}: cannot open it for writing (ENOENT)\n`)
  })

  it('serve --provider says whom it connects to at the start, and whether it could, within --timeout', async () => {
    const closed = createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise(resolve => closed.close(resolve))
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const serve = await startVerity(['serve', '--http', '127.0.0.1:0', '--provider', `/ip4/127.0.0.1/tcp/${port}/p2p/${peer}`, '--timeout', '2s', '--data-dir', join(dir, 'P'), ...LOCAL])
    try {
      await until(() => serve.stderr().includes('could not connect'), serve.stderr())
      const lines = serve.stderr().split('\n')
      assert.ok(lines.includes(`verity: connecting to ${peer} (/ip4/127.0.0.1/tcp/${port})...`), serve.stderr())
      assert.ok(lines.some(line => line.startsWith(`verity: could not connect to ${peer} at /ip4/127.0.0.1/tcp/${port}: `) && line.endsWith('; it is tried again when a request needs it')), serve.stderr())
    } finally {
      assert.equal(await serve.stop(), 0)
    }
  })
})
