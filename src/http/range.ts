/**
 * One byte range of a blob of `size` bytes from a Range header; undefined: the whole blob (no
 * header, or one the gateway does not read: several ranges, another unit). RFC 9110 section 14.
 */
export function parseRange (header: string | undefined, size: number): { start: number, end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null || (match[1] === '' && match[2] === '')) return undefined // not one range we read: send it whole
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size }
  }
  const start = Number(match[1])
  const end = match[2] === '' ? size : Math.min(size, Number(match[2]) + 1)
  if (start >= size || end <= start) return 'unsatisfiable'
  return { start, end }
}
