import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function markdown (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return markdown(path)
    return name.endsWith('.md') ? [path] : []
  })
}

/** A clone must stand alone: every relative link of the README and docs/ names a file inside it. */
describe('documentation links', () => {
  it('point at files inside the repository, never beside it', () => {
    const files = [join(ROOT, 'README.md'), ...markdown(join(ROOT, 'docs'))]
    const broken: string[] = []
    let links = 0
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const path = (target as string).split('#')[0] as string
        if (path === '' || /^[a-z]+:/i.test(path)) continue
        links++
        const full = resolve(dirname(file), decodeURIComponent(path))
        const inside = !relative(ROOT, full).startsWith('..')
        if (!inside || !existsSync(full)) broken.push(`${relative(ROOT, file)}: ${target as string}`)
      }
    }
    assert.ok(links > 100, `${links} links read`)
    assert.deepEqual(broken, [])
  })
})
