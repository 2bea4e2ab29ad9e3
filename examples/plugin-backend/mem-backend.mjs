// An origin backend plugin for a made-up scheme, mem:, serving a few files it makes itself:
//
//   mem://demo/hello.txt           a short text
//   mem://demo/numbers.bin         1 MiB of byte i = i % 251
//   mem://demo/docs/readme.txt     a file in a folder
//   mem://demo/                    the directory of all three (imported as a collection)
//
// Put this file in a plugin directory ($VERITY_PLUGIN_DIR, or <data dir>/plugins/backend) and
//
//   verity add mem://demo/hello.txt -v      (prints "load [mem] plugin backend" first)
//
// A plugin is an ES module whose default export is a backend, or (as here) a function given
// { logger } that returns one. It needs nothing from verity: errors are told apart by their
// name (OriginNotFound, OriginDenied, OriginUnavailable, OriginTimeout, OriginChanged,
// OriginBadResponse), and any other error counts as OriginUnavailable. docs/origins.md has the contract.

const encoder = new TextEncoder()

function pattern (length) {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = i % 251
  return bytes
}

/** The files, by path below mem://demo/. */
const FILES = new Map([
  ['hello.txt', encoder.encode('hello from a plugin backend\n')],
  ['numbers.bin', pattern(1 << 20)],
  ['docs/readme.txt', encoder.encode('files of a mem: directory become one collection\n')]
])

/** An error verity recognises by its name. */
function named (name, message) {
  const err = new Error(message)
  err.name = name
  return err
}

/** The path below the host, or a thrown OriginNotFound for another host. */
function pathOf (url, safeUrl) {
  if (url.host !== 'demo') throw named('OriginNotFound', `no such mem: host: ${safeUrl}`)
  return decodeURIComponent(url.pathname.replace(/^\//, ''))
}

export default function memBackend ({ logger }) {
  return {
    name: 'mem',
    schemes: ['mem'],

    // A file: its size (and a validator, so a change mid-download is caught and a resume is
    // safe). A directory: every file below it.
    async head (url, { safeUrl }) {
      const path = pathOf(url, safeUrl)
      const file = FILES.get(path)
      if (file !== undefined) return { size: file.length, etag: `"mem-${file.length}"`, contentType: 'application/octet-stream' }
      const prefix = path === '' || path.endsWith('/') ? path : `${path}/`
      const entries = [...FILES].filter(([name]) => name.startsWith(prefix)).map(([name, bytes]) => ({ path: name.slice(prefix.length), size: bytes.length }))
      if (entries.length === 0) throw named('OriginNotFound', `nothing at ${safeUrl}`)
      logger('listed %d files under %s', entries.length, safeUrl)
      return { entries }
    },

    // Exactly the bytes of the range, in order.
    async * get (url, { range, safeUrl, signal }) {
      const file = FILES.get(pathOf(url, safeUrl))
      if (file === undefined) throw named('OriginNotFound', `nothing at ${safeUrl}`)
      if (range.offset + range.length > file.length) throw named('OriginChanged', `${safeUrl} is shorter than the range asked for`)
      for (let at = range.offset; at < range.offset + range.length; at += 64 * 1024) {
        signal?.throwIfAborted()
        yield file.subarray(at, Math.min(at + 64 * 1024, range.offset + range.length))
      }
    }
  }
}
