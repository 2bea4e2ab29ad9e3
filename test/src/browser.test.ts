import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from '../helpers.js'
import { LOCAL, startVerity, verity } from './cli-process.js'

/** Debian's `chromium` (or CHROMIUM_PATH): the test needs a real browser and skips without one. */
function chromiumPath (): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => p !== undefined && p !== '')
  return candidates.find(p => existsSync(p))
}

describe('verity serve in a headless Chromium (playwright-core)', function () {
  this.timeout(120000)
  let dir: string
  before(function () {
    if (chromiumPath() === undefined) {
      console.log('    (skipped: no Chromium here; `apt install chromium` or set CHROMIUM_PATH to run it)')
      this.skip()
    }
    dir = mkdtempSync(join(tmpdir(), 'verity-browser-'))
  })
  after(() => { if (dir !== undefined) rmSync(dir, { recursive: true, force: true }) })

  it('downloads a blob from the gateway as a named file, and fetches a range of it from a page', async () => {
    const { chromium } = await import('playwright-core')
    const data = randomBytes(3 * 1024 * 1024 + 11, 21)
    writeFileSync(join(dir, 'blob.bin'), data)
    const home = join(dir, 'data')
    const added = await verity(['add', join(dir, 'blob.bin'), '--data-dir', home])
    assert.equal(added.status, 0, added.stderr)
    const hex = added.stdout.toString('utf8').split('  ')[0] as string
    const gateway = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', home, ...LOCAL])
    const browser = await chromium.launch({ executablePath: chromiumPath() as string, headless: true })
    try {
      const page = await browser.newPage({ acceptDownloads: true })
      await page.goto(`${gateway.line}/health`)
      // A link on a page of the gateway's origin, clicked as a person would.
      await page.setContent(`<a id="get" href="/blob/${hex}?filename=r%C3%A9sum%C3%A9.bin">get it</a>`)
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#get')])
      assert.equal(download.suggestedFilename(), 'résumé.bin')
      const saved = join(dir, 'saved.bin')
      await download.saveAs(saved)
      assert.ok(readFileSync(saved).equals(Buffer.from(data)), 'the browser saved the blob byte for byte')

      // What a web app does: a ranged fetch from the same origin.
      const part = await page.evaluate(async (path: string) => {
        const res = await fetch(path, { headers: { range: 'bytes=1048576-1048675' } })
        return { status: res.status, range: res.headers.get('content-range'), bytes: [...new Uint8Array(await res.arrayBuffer())] }
      }, `/blob/${hex}`)
      assert.deepEqual([part.status, part.range], [206, `bytes 1048576-1048675/${data.length}`])
      assert.ok(Buffer.from(part.bytes).equals(Buffer.from(data.subarray(1048576, 1048676))))
    } finally {
      await browser.close()
      assert.equal(await gateway.stop(), 0)
    }
  })

  it('browses a collection\'s listing, follows its links, opens a text file and downloads another under its name', async () => {
    const { chromium } = await import('playwright-core')
    const site = join(dir, 'site')
    mkdirSync(join(site, 'docs'), { recursive: true })
    const report = randomBytes(200000, 22)
    writeFileSync(join(site, 'docs', 'report \u00e9.bin'), report)
    writeFileSync(join(site, 'docs', 'notes.txt'), 'plain notes\n')
    writeFileSync(join(site, 'top <b>.txt'), 'a name that is markup\n')
    const home = join(dir, 'data-site')
    const added = await verity(['add', site, '--data-dir', home])
    assert.equal(added.status, 0, added.stderr)
    const hex = added.stdout.toString('utf8').split('  ')[0] as string
    const gateway = await startVerity(['serve', '--http', '127.0.0.1:0', '--data-dir', home, ...LOCAL])
    const browser = await chromium.launch({ executablePath: chromiumPath() as string, headless: true })
    try {
      const page = await browser.newPage({ acceptDownloads: true })
      const top = await page.goto(`${gateway.line}/blob/${hex}/`)
      assert.equal(top?.status(), 200)
      assert.equal(top?.headers()['content-type'], 'text/html; charset=utf-8')
      await Promise.all([page.waitForURL(`**/blob/${hex}/site/`), page.click('a[href="./site/"]')])
      // The name that is markup shows as text: the page made no <b> element of it.
      assert.deepEqual(await page.$$eval('tbody a:not([download])', links => links.map(a => a.textContent)), ['../', 'docs/', 'top <b>.txt'])
      assert.equal(await page.$$eval('tbody b', found => found.length), 0)
      await Promise.all([page.waitForURL(`**/blob/${hex}/site/docs/`), page.click('a[href="./docs/"]')])
      assert.deepEqual(await page.$$eval('tbody a:not([download])', links => links.map(a => a.textContent)), ['../', 'notes.txt', 'report \u00e9.bin'])
      // A text file opens in the browser as text.
      const [opened] = await Promise.all([page.waitForResponse(res => res.url().endsWith('/notes.txt')), page.click('a[href="./notes.txt"]')])
      assert.deepEqual([opened.status(), opened.headers()['content-type'], opened.headers()['x-content-type-options']], [200, 'text/plain; charset=utf-8', 'nosniff'])
      await page.waitForURL('**/notes.txt')
      assert.equal((await page.textContent('body'))?.trim(), 'plain notes')
      await page.goBack()
      // The download link saves the file under its own name, byte for byte.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href="./report%20%C3%A9.bin?download"]')])
      assert.equal(download.suggestedFilename(), 'report \u00e9.bin')
      const saved = join(dir, 'report.bin')
      await download.saveAs(saved)
      assert.ok(readFileSync(saved).equals(Buffer.from(report)), 'the browser saved the file byte for byte')
    } finally {
      await browser.close()
      assert.equal(await gateway.stop(), 0)
    }
  })
})
