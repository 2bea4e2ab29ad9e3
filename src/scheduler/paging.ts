import { BadParameter } from './errors.js'

/** How a list is asked for: a page (0-based) of `pageSize`, sorted by `sortKey` (several keys, in order) in `sortDirect`. */
export interface PageRequest {
  pageNum: number
  pageSize: number
  sortKey: string[]
  sortDirect: 'ASC' | 'DESC'
}

/**
 * One page of `items` sorted by the keys given, first key first, each compared as numbers when
 * both values are numbers and as strings otherwise; `tieKey` ends every tie so a page boundary
 * never depends on the order items were stored in. A key not in `sortable` is BadParameter
 * naming `sortKey`. Pure: the caller's array is not changed.
 */
export function pageOf<T extends Record<string, unknown>> (items: readonly T[], request: PageRequest, sortable: readonly string[], tieKey: string): T[] {
  for (const key of request.sortKey) {
    if (!sortable.includes(key)) throw new BadParameter('sortKey', `${JSON.stringify(key.slice(0, 40))} is not one of ${sortable.join(', ')}`)
  }
  const keys = [...request.sortKey, tieKey]
  const sign = request.sortDirect === 'DESC' ? -1 : 1
  const sorted = [...items].sort((a, b) => {
    for (const key of keys) {
      const order = compare(a[key], b[key])
      if (order !== 0) return sign * order
    }
    return 0
  })
  const start = request.pageNum * request.pageSize
  return sorted.slice(start, start + request.pageSize)
}

function compare (a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  const x = String(a ?? '')
  const y = String(b ?? '')
  return x < y ? -1 : x > y ? 1 : 0
}
