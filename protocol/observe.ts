import { ByteReader } from '../store/bao/byte-reader.js'
import { VarintDecoder } from '../store/codec/varint.js'
import type { ChunkRanges } from '../store/ranges/chunk-ranges.js'
import { MalformedMessage } from './errors.js'
import { deframe } from './frame.js'
import type { OpenStream } from './get/machine.js'
import { decodeObserveItem, encodeRequest, type ObserveItem } from './request.js'

/** Observe messages longer than this are refused (a bitfield of 64 Ki ranges). */
const MAX_MESSAGE = 1 << 20

/**
 * Watch a peer's bitfield of `hash`: yields the provider's whole current state (within `ranges`)
 * first and after each change, with the diffs already applied. Ends when the provider ends the
 * stream; breaking out of the loop or aborting the signal closes it.
 */
export async function * observeFrom (open: OpenStream, hash: Uint8Array, ranges: ChunkRanges,
  options: { signal?: AbortSignal } = {}): AsyncGenerator<ObserveItem> {
  const { stream, framed } = await open(options.signal)
  const reader = new ByteReader(framed ? deframe(stream.source) : stream.source, options.signal)
  let done = false
  try {
    await stream.write(encodeRequest({ type: 'observe', hash, ranges }))
    await stream.closeWrite()
    let state: ObserveItem | undefined
    while (!(await reader.atEnd())) {
      const item = decodeObserveItem(await reader.read(await readLength(reader)))
      const merged = state === undefined ? item.ranges : state.ranges.xor(item.ranges)
      state = { size: item.size, ranges: merged.canonicalize(item.size) }
      yield state
    }
    done = true
  } finally {
    if (!done) stream.abort(new Error('observer stopped'))
    await reader.close().catch(() => {}) // the stream was ended or aborted above; what closing it says changes nothing
  }
}

async function readLength (reader: ByteReader): Promise<number> {
  const decoder = new VarintDecoder('Observe message length', 4)
  let length: bigint | undefined
  while (length === undefined) length = decoder.push((await reader.read(1))[0] as number)
  if (length > BigInt(MAX_MESSAGE)) throw new MalformedMessage(`Observe message of ${length} bytes is over ${MAX_MESSAGE}`)
  return Number(length)
}
