import { toHex } from '../../store/hash-text.js'
import type { BlobStatus } from '../../store/interface.js'
import type { VerityNode } from '../node/create-node.js'
import { type Answer, type Ask, queryOf, textAnswer } from './answer.js'
import type { Directory } from './collection-index.js'
import { encodePath } from './collection-path.js'

/** Entries on one page of a listing: a larger directory is listed `?page=2`, `?page=3`, ... */
export const PAGE_SIZE = 1000

/** One line of a listing: a directory under this one, or a file with its hash and what is here of it. */
export interface ListedEntry {
  name: string
  type: 'directory' | 'file'
  /** Relative to the listing's URL (which ends in `/`), percent-encoded. */
  href: string
  hash?: string
  /** Bytes, when known here (a file not here has none). */
  size?: number | null
  /** What this node holds of the file: `complete`, `partial` or `absent` (the gateway fetches the rest when asked). */
  here?: BlobStatus['status']
}

/**
 * The listing of directory `path` (`''` the top) of collection `hash`: JSON on `Accept:
 * application/json` (`{ hash, path, page, pages, total, entries, next? }`), HTML otherwise (names
 * escaped, relative links that work from the listing's URL, sizes, a download link per file, no
 * script: its Content-Security-Policy allows none). PAGE_SIZE entries a page, directories first.
 */
export async function listingAnswer (node: VerityNode, hash: Uint8Array, path: string, dir: Directory, ask: Ask): Promise<Answer> {
  const given = queryOf(ask.url).get('page')
  const page = given === null ? 1 : Number(given)
  const total = dir.dirs.length + dir.files.length
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE))
  if (!Number.isSafeInteger(page) || page < 1 || !/^\d+$/.test(given ?? '1')) return textAnswer(400, `?page takes a page number from 1 to ${pages}\n`)
  if (page > pages) return textAnswer(404, `this directory has ${pages} page${pages === 1 ? '' : 's'} of ${PAGE_SIZE} entries\n`)
  const first = (page - 1) * PAGE_SIZE
  const dirs = dir.dirs.slice(first, first + PAGE_SIZE)
  const files = dir.files.slice(Math.max(0, first - dir.dirs.length), Math.max(0, first + PAGE_SIZE - dir.dirs.length))
  const entries: ListedEntry[] = dirs.map(name => ({ name, type: 'directory', href: `./${encodePath(name)}/` }))
  for (const file of files) {
    const name = file.name.split('/').pop() as string
    const status = await node.blobs.status(file.hash)
    const size = status.status === 'complete' || (status.status === 'partial' && status.sizeVerified) ? status.size : null
    entries.push({ name, type: 'file', href: `./${encodePath(name)}`, hash: toHex(file.hash), size, here: status.status })
  }
  const next = page < pages ? `?page=${page + 1}` : undefined
  const headers = { 'cache-control': 'public, max-age=31536000, immutable', vary: 'accept', 'x-content-type-options': 'nosniff' }
  const hex = toHex(hash)
  if (wantsJson(ask.headers.accept)) {
    const body = { hash: hex, path, page, pages, total, entries, ...(next === undefined ? {} : { next }) }
    return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) + '\n' }
  }
  return {
    status: 200,
    headers: { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" },
    body: html(hex, path, entries, { page, pages, total, next })
  }
}

function wantsJson (accept: string | undefined): boolean {
  return accept !== undefined && accept.split(',').some(part => part.split(';')[0]?.trim().toLowerCase() === 'application/json')
}

function html (hex: string, path: string, entries: ListedEntry[], at: { page: number, pages: number, total: number, next: string | undefined }): string {
  const where = `/${path}${path === '' ? '' : '/'}`
  const rows = entries.map(entry => entry.type === 'directory'
    ? `<tr><td><a href="${escape(entry.href)}">${escape(entry.name)}/</a></td><td></td><td></td></tr>`
    : `<tr><td><a href="${escape(entry.href)}">${escape(entry.name)}</a></td>` +
      `<td title="${entry.size ?? ''}">${entry.size === null || entry.size === undefined ? '' : escape(bytes(entry.size))}</td>` +
      `<td><a href="${escape(entry.href)}?download" download>download</a></td></tr>`)
  if (path !== '') rows.unshift('<tr><td><a href="../">../</a></td><td></td><td></td></tr>')
  const pager = at.pages === 1
    ? ''
    : `<p>page ${at.page} of ${at.pages}${at.page > 1 ? ` <a href="?page=${at.page - 1}">previous</a>` : ''}${at.next === undefined ? '' : ` <a href="${at.next}">next</a>`}</p>`
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escape(where)} - ${hex.slice(0, 16)}...</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}th{text-align:left}td{padding:.15em 1em .15em 0}td:nth-child(2){text-align:right;font-variant-numeric:tabular-nums}code{word-break:break-all}</style>
</head><body>
<h1>${escape(where)}</h1>
<p>collection <code>${hex}</code>, ${at.total} entr${at.total === 1 ? 'y' : 'ies'} in this directory</p>
<table><thead><tr><th>name</th><th>size</th><th></th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
${pager}</body></html>
`
}

function escape (text: string): string {
  return text.replace(/[&<>"']/g, char => `&#${char.charCodeAt(0)};`)
}

/** `1.5 MiB`; under 1 KiB in bytes. */
function bytes (size: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = size
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${size} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] as string}`
}
