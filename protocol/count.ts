/** `source` as it is, telling `add` the length of each piece as it passes. */
export async function * countBytes (source: AsyncIterable<Uint8Array>, add: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    add(chunk.length)
    yield chunk
  }
}
