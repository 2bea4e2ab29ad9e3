/**
 * "Did you mean": the known name nearest to what was typed, when it is near enough to be a typo
 * (`sned` -> `send`, `--overwirte` -> `--overwrite`), else undefined.
 */

/** Edit distance with transpositions (optimal string alignment): `sned` is one edit from `send`. */
export function distance (a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min((d[i - 1] as number[])[j] as number + 1, (d[i] as number[])[j - 1] as number + 1, (d[i - 1] as number[])[j - 1] as number + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (d[i - 2] as number[])[j - 2] as number + 1)
      ;(d[i] as number[])[j] = best
    }
  }
  return (d[a.length] as number[])[b.length] as number
}

/**
 * The name in `known` nearest to `typed`, if at most a third of its length (at least one edit)
 * away, or if `typed` is a prefix of exactly one name (`verif` -> `verify`); ties go to the first.
 */
export function nearest (typed: string, known: Iterable<string>): string | undefined {
  const names = [...known]
  const prefixed = names.filter(name => typed.length >= 2 && name.startsWith(typed))
  if (prefixed.length === 1) return prefixed[0]
  const limit = Math.max(1, Math.floor(typed.length / 3))
  let best: { name: string, edits: number } | undefined
  for (const name of names) {
    const edits = distance(typed, name)
    if (edits <= limit && (best === undefined || edits < best.edits)) best = { name, edits }
  }
  return best?.name
}
