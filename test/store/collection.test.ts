import assert from 'node:assert/strict'
import fc from 'fast-check'
import { uniqueNames } from '../../store/collection.js'
import { rejection } from '../helpers.js'

/** The rule stated plainly, quadratic: no name twice, no name that is a directory of another. */
function clashes (names: string[]): boolean {
  return names.some((a, i) => names.some((b, j) => i !== j && (a === b || b.startsWith(`${a}/`))))
}

describe('collection names: uniqueNames', () => {
  it('refuses exactly what the plain rule refuses (property, against the quadratic statement)', () => {
    const name = fc.array(fc.constantFrom('a', 'b', 'ab', 'a b'), { minLength: 1, maxLength: 4 }).map(parts => parts.join('/'))
    fc.assert(fc.property(fc.array(name, { maxLength: 8 }), names => {
      let refused: Error | undefined
      try { uniqueNames(names) } catch (err) { refused = err as Error }
      assert.equal(refused !== undefined, clashes(names), JSON.stringify(names))
      if (refused !== undefined) assert.equal(refused.name, 'DuplicateName')
    }), { seed: 20261129, numRuns: 2000 })
  })

  it('is linear in the names: one name of 500,000 components and its twin are told apart at once', async () => {
    const deep = Array.from({ length: 500000 }, () => 'd').join('/')
    const started = performance.now()
    const error = await rejection(() => uniqueNames([deep, `${deep}/x`]))
    assert.equal(error.name, 'DuplicateName')
    assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`)
  })
})
