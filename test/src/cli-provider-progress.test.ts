import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, repoRoot } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')
const MiB = 1024 * 1024

/** `script` (util-linux) gives a command a pseudo-terminal; absent, the terminal test skips. */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0

/** A size as a frame shows it (`1.5 MiB`), in bytes. */
function bytesOf (text: string): number {
  const match = /^([\d.]+) (B|KiB|MiB|GiB)$/.exec(text)
  assert.ok(match !== null, `a size: ${text}`)
  return Number(match[1]) * { B: 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB }[match[2] as 'B' | 'KiB' | 'MiB' | 'GiB']
}

describe('verity get -v: each provider\'s share while the fetch runs', function () {
  this.timeout(120000)
  let dir: string
  let file: string
  const data = randomBytes(12 * MiB, 21)
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'verity-cli-providers-'))
    file = join(dir, 'striped.bin')
    writeFileSync(file, data)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  /**
   * Two senders of the same file at 2 MiB/s each, and the file's hash: fetched by its hash from
   * both (a lone blob is striped over its providers once its size is proven), for about 3 s.
   */
  async function twoSenders (): Promise<{ get: string[], stop: () => Promise<void> }> {
    const one = await startVerity(['send', file, '--ticket-only', '--limit-rate', '2M', ...LOCAL])
    const two = await startVerity(['send', file, '--ticket-only', '--limit-rate', '2M', ...LOCAL])
    const hash = (await verity(['hash', file])).stdout.toString('utf8').split(' ')[0] as string
    return { get: ['get', hash, '--provider', one.line, '--provider', two.line], stop: async () => { await Promise.all([one.stop(), two.stop()]) } }
  }

  it('on a terminal, the progress line shows each provider\'s bytes and rate, growing while the fetch runs', async function () {
    if (!hasScript) this.skip()
    const senders = await twoSenders()
    try {
      const log = join(dir, 'tty.log')
      const out = join(dir, 'got.bin')
      const command = [process.execPath, cli, ...senders.get, '-v', '-o', out, '--data-dir', join(dir, 'T')].join(' ')
      const ran = spawnSync('script', ['-qfec', command, log], { encoding: 'utf8', timeout: 60000 })
      const text = readFileSync(log, 'utf8')
      assert.equal(ran.status, 0, text)
      assert.ok(readFileSync(out).equals(Buffer.from(data)))
      // `name  bytes / total  percent%  rate/s  ETA  [abcdef 1.0 MiB 512.0 KiB/s, uvwxyz ...]`
      const frames = text.split('\r').filter(part => part.endsWith('\x1b[K') && part.length > 3).map(part => part.slice(0, -3))
      const running = frames.filter(f => /\s(\d+)%\s/.test(f) && Number((/\s(\d+)%\s/.exec(f) as RegExpExecArray)[1]) < 90)
      assert.ok(running.length >= 4, `frames before 90%:\n${frames.join('\n')}`)
      const shares = running.map(f => {
        const list = /\[(.*)\]$/.exec(f)
        assert.ok(list !== null, `each provider's share in the frame: ${JSON.stringify(f)}`)
        return Object.fromEntries((list[1] as string).split(', ').map(each => {
          const share = /^(\S{6}) ([\d.]+ \w+) ([\d.]+ \w+)\/s$/.exec(each)
          assert.ok(share !== null, `peer, bytes, rate: ${JSON.stringify(each)}`)
          return [share[1] as string, { bytes: bytesOf(share[2] as string), rate: bytesOf(share[3] as string) }]
        }))
      })
      const last = shares[shares.length - 1] as Record<string, { bytes: number, rate: number }>
      assert.equal(Object.keys(last).length, 2, `both providers, before the end: ${running[running.length - 1] as string}`)
      for (const [peer, share] of Object.entries(last)) {
        assert.ok(share.bytes > 0 && share.rate > 0, `${peer} sent bytes at a rate before the end: ${JSON.stringify(share)}`)
        // Live: its bytes move between frames, not once when its part is done.
        const seen = new Set(shares.map(s => s[peer]?.bytes).filter(b => b !== undefined))
        assert.ok(seen.size >= 3, `${peer}'s bytes took ${seen.size} values before 90%: ${[...seen].join(', ')}`)
        assert.ok(share.rate < 4 * MiB, `${peer} at ${share.rate} B/s, under twice its sender's limit`)
      }
    } finally {
      await senders.stop()
    }
  })

  it('--json progress events carry each provider\'s bytes and rate while the fetch runs', async () => {
    const senders = await twoSenders()
    try {
      const ran = await verity([...senders.get, '--json', '-o', join(dir, 'json.bin'), '--data-dir', join(dir, 'J')])
      assert.equal(ran.status, 0, ran.stderr)
      const events = ran.stdout.toString('utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
      type Share = Record<string, { bytes: number, rate: number }>
      const running = events.filter(e => e.type === 'progress' && typeof e.percent === 'number' && e.percent < 90) as Array<{ providers: Share }>
      assert.ok(running.length >= 3, JSON.stringify(events))
      const last = (running[running.length - 1] as { providers: Share }).providers
      assert.equal(Object.keys(last).length, 2, JSON.stringify(last))
      for (const [peer, share] of Object.entries(last)) {
        assert.deepEqual(Object.keys(share).sort(), ['bytes', 'rate'])
        assert.ok(share.bytes > 0 && share.rate > 0, `${peer}: ${JSON.stringify(share)}`)
        const seen = new Set(running.map(e => e.providers[peer]?.bytes).filter(b => b !== undefined))
        assert.ok(seen.size >= 3, `${peer}'s bytes took ${seen.size} values before 90%`)
      }
      const fetched = events.find(e => e.type === 'fetched') as { providers: Record<string, { bytes: number }> }
      const total = Object.values(fetched.providers).reduce((sum, p) => sum + p.bytes, 0)
      assert.ok(total >= data.length, `the providers delivered the whole blob between them: ${total}`)
    } finally {
      await senders.stop()
    }
  })
})
