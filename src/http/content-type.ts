import { contentType as typeOfExtension } from 'mime-types'

/**
 * The Content-Type of a blob the gateway sends: from the name's extension where it has one we
 * know (jshttp's mime-types, with `charset=utf-8` for text), else sniffed from its first bytes:
 * a few magic numbers, then text or binary. Sniffing never says `text/html` or another type a
 * browser runs (a blob is not trusted to be a page on the gateway's origin); a name may (a site
 * kept as a collection), and `activeHeaders` then sandboxes it.
 */

/** Bytes read from a blob's start to sniff its type: its first chunk. */
export const SNIFF_BYTES = 1024

export const BINARY_TYPE = 'application/octet-stream'
export const TEXT_TYPE = 'text/plain; charset=utf-8'

/** Magic numbers: the bytes at `at` (default 0) that name a type. */
const MAGIC: ReadonlyArray<{ type: string, bytes: readonly number[], at?: number, also?: { bytes: readonly number[], at: number } }> = [
  { type: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { type: 'image/gif', bytes: ascii('GIF8') },
  { type: 'image/webp', bytes: ascii('RIFF'), also: { bytes: ascii('WEBP'), at: 8 } },
  { type: 'audio/wav', bytes: ascii('RIFF'), also: { bytes: ascii('WAVE'), at: 8 } },
  { type: 'application/pdf', bytes: ascii('%PDF-') },
  { type: 'application/zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { type: 'application/gzip', bytes: [0x1f, 0x8b] },
  { type: 'application/x-bzip2', bytes: ascii('BZh') },
  { type: 'application/x-xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { type: 'application/zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { type: 'application/x-7z-compressed', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { type: 'application/wasm', bytes: [0x00, 0x61, 0x73, 0x6d] },
  { type: 'video/mp4', bytes: ascii('ftyp'), at: 4 },
  { type: 'video/webm', bytes: [0x1a, 0x45, 0xdf, 0xa3] },
  { type: 'audio/mpeg', bytes: ascii('ID3') },
  { type: 'audio/ogg', bytes: ascii('OggS') },
  { type: 'audio/flac', bytes: ascii('fLaC') }
]

function ascii (text: string): number[] {
  return [...text].map(char => char.charCodeAt(0))
}

function startsWith (head: Uint8Array, bytes: readonly number[], at = 0): boolean {
  return head.length >= at + bytes.length && bytes.every((byte, i) => head[at + i] === byte)
}

/** The type of a file named `name` from its extension, or undefined when the extension says nothing we know. */
export function typeByName (name: string): string | undefined {
  const type = typeOfExtension(name.split('/').pop() as string)
  return type === false ? undefined : type
}

/**
 * The type of a blob that starts with `head` (its first SNIFF_BYTES or all of it): a magic
 * number's type, else text when the bytes are UTF-8 with none of the control bytes text does not
 * hold (WHATWG's "binary data bytes"), else `application/octet-stream`. An empty blob is text.
 */
export function sniffType (head: Uint8Array): string {
  for (const magic of MAGIC) {
    if (startsWith(head, magic.bytes, magic.at) && (magic.also === undefined || startsWith(head, magic.also.bytes, magic.also.at))) return magic.type
  }
  return looksLikeText(head) ? TEXT_TYPE : BINARY_TYPE
}

function looksLikeText (head: Uint8Array): boolean {
  for (const byte of head) {
    if (byte <= 0x08 || byte === 0x0b || (byte >= 0x0e && byte <= 0x1a) || (byte >= 0x1c && byte <= 0x1f)) return false
  }
  try {
    // `stream`: a character cut at the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true })
    return true
  } catch {
    return false
  }
}

/** Types a browser runs as a document with scripts. */
const ACTIVE = new Set(['text/html', 'application/xhtml+xml', 'image/svg+xml', 'text/xml', 'application/xml'])

/**
 * The headers that go with `type` on a blob: `X-Content-Type-Options: nosniff` always (the
 * browser takes the type given), and for a type a browser runs as a page (HTML, SVG, XML) a
 * `Content-Security-Policy: sandbox allow-scripts`, so its scripts run in an origin of their own
 * and cannot read the gateway's other answers as the gateway's own page.
 */
export function typeHeaders (type: string): Record<string, string> {
  const essence = type.split(';')[0]?.trim().toLowerCase() ?? ''
  return {
    'content-type': type,
    'x-content-type-options': 'nosniff',
    ...(ACTIVE.has(essence) ? { 'content-security-policy': 'sandbox allow-scripts' } : {})
  }
}
