import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as api from '../../src/index.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * docs/api is generated from the TSDoc comments (`npm run docs:api`) and committed, so the README
 * can link to it. This catches an export added or renamed without regenerating it.
 */
describe('docs/api, the API reference', () => {
  const index = readFileSync(`${ROOT}docs/api/index.md`, 'utf8')
  const listed = new Set([...index.matchAll(/^- \[([A-Za-z0-9_$\\]+)\]/gm)].map(m => (m[1] as string).replaceAll('\\', '')))

  it('lists every value the package exports', () => {
    const missing = Object.keys(api).filter(name => !listed.has(name))
    assert.deepEqual(missing, [], 'run npm run docs:api and commit docs/api')
  })

  it('lists every type the package exports', () => {
    const source = readFileSync(`${ROOT}src/index.ts`, 'utf8')
    const types: string[] = []
    for (const [, list] of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
      for (const item of (list as string).split(',')) {
        const name = item.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()
        if (name !== undefined && name !== '') types.push(name)
      }
    }
    assert.ok(types.length > 50, `read ${types.length} exports from src/index.ts`)
    assert.deepEqual(types.filter(name => !listed.has(name)), [], 'run npm run docs:api and commit docs/api')
  })

  it('lists nothing the package no longer exports', () => {
    const source = readFileSync(`${ROOT}src/index.ts`, 'utf8')
    assert.deepEqual([...listed].filter(name => !(name in api) && !new RegExp(`\\b${name}\\b`).test(source)), [])
  })
})
