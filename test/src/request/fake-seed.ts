import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toHex } from '../../../store/hash-text.js'
import { MemStore } from '../../../store/mem-store.js'
import { ChunkRanges } from '../../../store/ranges/chunk-ranges.js'
import { BAO_TYPE, wantsBao } from '../../../src/http/answer.js'
import { parseRange } from '../../../src/http/range.js'

/** What a fake seed's behaviour gets: the request, the response, and the honest answer's parts. */
export interface Honest {
  status: number
  headers: Record<string, string>
  /** The body's bytes (the encoded range stream with Accept: application/x-bao, else the plain bytes). */
  body: Uint8Array
}

/**
 * A seed made by hand for one blob: it answers `/tasks` as a verity seed would (Range, the
 * encoded range stream on Accept: application/x-bao, 416), unless `behave` answers instead
 * (return true when it did). It keeps the Range header of every request it had.
 */
export class FakeSeed {
  readonly ranges: Array<string | undefined> = []
  private constructor (private readonly server: Server, readonly host: string) {}

  static async start (store: MemStore, hash: Uint8Array, behave: (req: IncomingMessage, res: ServerResponse, honest: Honest) => boolean = () => false): Promise<FakeSeed> {
    let seed: FakeSeed | undefined
    const server = createServer((req, res) => {
      seed?.ranges.push(req.headers.range)
      void honestAnswer(store, hash, req).then(honest => {
        if (behave(req, res, honest)) return
        res.writeHead(honest.status, honest.headers)
        res.end(honest.body)
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    seed = new FakeSeed(server, `127.0.0.1:${(server.address() as AddressInfo).port}`)
    return seed
  }

  async stop (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise(resolve => this.server.close(resolve))
  }
}

async function honestAnswer (store: MemStore, hash: Uint8Array, req: IncomingMessage): Promise<Honest> {
  const data = await store.getBytes(hash)
  const size = data.length
  const range = parseRange(req.headers.range, size)
  if (range === 'unsatisfiable') return { status: 416, headers: { 'content-range': `bytes */${size}` }, body: new TextEncoder().encode('range not satisfiable\n') }
  const { start, end } = range ?? { start: 0, end: size }
  const status = range === undefined ? 200 : 206
  const named = { 'x-verity-hash': toHex(hash), 'x-verity-task': 'fake' }
  if (wantsBao(req.headers.accept)) {
    const parts: Uint8Array[] = []
    for await (const part of store.exportBao(hash, ChunkRanges.fromByteRange(start, end))) parts.push(part)
    return {
      status,
      headers: { ...named, 'content-type': BAO_TYPE, 'x-verity-size': String(size), 'x-verity-content-range': `bytes ${start}-${Math.max(start, end - 1)}/${size}` },
      body: Buffer.concat(parts)
    }
  }
  return {
    status,
    headers: { ...named, 'content-type': 'application/octet-stream', 'content-length': String(end - start), ...(range === undefined ? {} : { 'content-range': `bytes ${start}-${end - 1}/${size}` }) },
    body: data.subarray(start, end)
  }
}
