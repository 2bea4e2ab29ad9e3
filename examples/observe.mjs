// Observe: watch which chunks of a blob another node holds, as it changes. Carol has a 4 MiB
// blob; alice fetches it from carol a quarter at a time; bob observes alice's copy fill up.
//
//   node examples/observe.mjs
import { createNode, ChunkRanges, CHUNK_SIZE } from 'verity-blobs'

const carol = await createNode()
const alice = await createNode()
const bob = await createNode()
try {
  const data = new Uint8Array(4 << 20).map((_, i) => (i * 2654435761) >>> 24)
  const { hash } = await carol.blobs.addBytes(data)

  const controller = new AbortController()
  const watching = (async () => {
    // Yields alice's whole bitfield of this hash first, then after each change.
    for await (const { size, ranges } of bob.remote.observe(alice.ticket(hash), hash, ChunkRanges.all(), { signal: controller.signal })) {
      const chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE)) // of 1 KiB; verified in groups of 16
      let held = 0
      for (const [start, end] of ranges.intersection(ChunkRanges.to(chunks)).ranges()) held += end - start
      console.log(`bob sees alice holding ${held} of ${size === 0 ? 'unknown' : chunks} chunks`)
      if (size > 0 && held === chunks) break
    }
  })()

  await new Promise(resolve => setTimeout(resolve, 200)) // let bob's first look show an empty bitfield
  for (let quarter = 0; quarter < 4; quarter++) {
    await alice.remote.fetch(carol.ticket(hash), hash, { range: { offset: quarter << 20, length: 1 << 20 } })
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  console.log('alice has the whole blob')
  let timer
  const done = await Promise.race([watching.then(() => true), new Promise(resolve => { timer = setTimeout(resolve, 10000, false) })])
  clearTimeout(timer)
  controller.abort()
  console.log(done ? 'bob saw it complete' : 'bob did not see it complete within 10 s')
  if (!done) process.exitCode = 1
} finally {
  await bob.stop()
  await alice.stop()
  await carol.stop()
}
