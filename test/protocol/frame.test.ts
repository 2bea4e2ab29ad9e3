import assert from 'node:assert/strict'
import { deframe, ResponseWriter, FRAME_SIZE } from '../../protocol/frame.js'
import type { ByteStream } from '../../protocol/interface.js'
import { Status, wireMessage } from '../../protocol/status.js'
import { RequestTooLarge } from '../../protocol/errors.js'
import { NotFound, StoreFull } from '../../store/errors.js'
import { collect, concat, randomBytes, rejection, sliced } from '../helpers.js'

/** A ByteStream that records what is written. */
function recorder (): { stream: ByteStream, written: Uint8Array[], state: { closed: boolean, aborted: boolean } } {
  const written: Uint8Array[] = []
  const state = { closed: false, aborted: false }
  const stream: ByteStream = {
    source: (async function * () {})(),
    write: async bytes => { written.push(bytes.slice()) },
    closeWrite: async () => { state.closed = true },
    closeRead: async () => {},
    abort: () => { state.aborted = true },
    closed: new AbortController().signal
  }
  return { stream, written, state }
}

describe('framed responses', () => {
  it('sink takes batches of slices (and lone pieces) across frame boundaries: the same frames, bytes and count', async () => {
    const payload = randomBytes(3 * FRAME_SIZE + 777, 4)
    const cuts = [8, 64, 64, 16384, 64, 16384, 200000, 64, 300000, 5, 16384]
    const slices: Uint8Array[] = []
    for (let at = 0, i = 0; at < payload.length; i++) {
      const n = Math.min(cuts[i % cuts.length] as number, payload.length - at)
      slices.push(payload.subarray(at, at + n))
      at += n
    }
    const batched = recorder()
    const out = new ResponseWriter(batched.stream, true)
    await out.sink((async function * () {
      for (let i = 0; i < slices.length; i += 5) {
        if (i % 10 === 0) yield slices.slice(i, i + 5) // a batch
        else for (const slice of slices.slice(i, i + 5)) yield slice // lone pieces
      }
      yield [] // an empty batch changes nothing
    })())
    assert.equal(out.bytesSent, payload.length)
    await out.end(Status.Ok)
    const single = recorder()
    const one = new ResponseWriter(single.stream, true)
    for (const slice of slices) await one.write(slice)
    await one.end(Status.Ok)
    assert.deepEqual(batched.written.map(w => w.length), single.written.map(w => w.length), 'the same frames')
    assert.equal(batched.written.length, 5, 'three whole frames, the rest, the end frame')
    assert.deepEqual(concat(await collect(deframe(sliced(concat(batched.written), [])))), payload)
  })

  it('sink copies a batch before it asks for the next (a source that scribbles over its last batch when resumed)', async () => {
    const payload = randomBytes(2 * FRAME_SIZE + 999, 5)
    const scratch = new Uint8Array(100000)
    const { stream, written } = recorder()
    const slowStream = { ...stream, write: async (bytes: Uint8Array) => { await new Promise(resolve => setTimeout(resolve, 1)); await stream.write(bytes) } }
    const out = new ResponseWriter(slowStream, true)
    await out.sink((async function * () {
      for (let at = 0; at < payload.length; at += scratch.length) {
        const n = Math.min(scratch.length, payload.length - at)
        scratch.set(payload.subarray(at, at + n))
        yield [scratch.subarray(0, n >> 1), scratch.subarray(n >> 1, n)]
        scratch.fill(0xee) // the batch is done with once the sink asks for more
      }
    })())
    await out.end(Status.Ok)
    assert.deepEqual(concat(await collect(deframe(sliced(concat(written), [])))), payload)
  })

  it('frames payload in large pieces and ends with a status, read back when cut inside headers and the end frame', async () => {
    const payload = randomBytes(FRAME_SIZE + 5000, 3)
    const { stream, written, state } = recorder()
    const out = new ResponseWriter(stream, true)
    for (let at = 0; at < payload.length; at += 64) await out.write(payload.subarray(at, at + 64))
    await out.end(Status.Ok)
    assert.ok(state.closed)
    assert.equal(written.length, 3, 'two payload frames and the end frame')
    const wire = concat(written)
    assert.deepEqual([...wire.subarray(wire.length - 3)], [0, 0, 0])
    for (const cut of [1, 2, 3, 4, FRAME_SIZE + 2, FRAME_SIZE + 3, FRAME_SIZE + 4, wire.length - 3, wire.length - 2, wire.length - 1]) {
      const back = concat(await collect(deframe(sliced(wire, [cut]))))
      assert.ok(Buffer.from(back).equals(Buffer.from(payload)), `cut at ${cut}`)
    }
  })

  it('turns each status into its named error, after the valid prefix', async () => {
    const names: Array<[number, string]> = [[Status.Permission, 'Permission'], [Status.RateLimited, 'RateLimited'],
      [Status.NotFound, 'NotFound'], [Status.Internal, 'Internal'], [Status.Malformed, 'MalformedMessage'], [Status.TooLarge, 'RequestTooLarge'], [77, 'MalformedMessage']]
    for (const [status, name] of names) {
      const { stream, written } = recorder()
      const out = new ResponseWriter(stream, true)
      await out.write(new Uint8Array([1, 2, 3]))
      await out.end(status as 0, 'why')
      const got: Uint8Array[] = []
      const error = await rejection(async () => { for await (const piece of deframe(sliced(concat(written), [2, 5]))) got.push(piece) })
      assert.equal(error.name, name)
      assert.deepEqual([...concat(got)], [1, 2, 3])
      if (status !== 77) assert.match(error.message, /why/)
    }
  })

  it('calls a stream without its end frame Aborted, and bytes after it MalformedMessage', async () => {
    assert.equal((await rejection(() => collect(deframe(sliced(new Uint8Array([3, 1, 2, 3])))))).name, 'Aborted')
    assert.equal((await rejection(() => collect(deframe(sliced(new Uint8Array([3, 1, 2])))))).name, 'Aborted')
    assert.equal((await rejection(() => collect(deframe(sliced(new Uint8Array([0, 0, 0, 9])))))).name, 'MalformedMessage')
    assert.equal((await rejection(() => collect(deframe(sliced(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])))))).name, 'MalformedMessage')
  })

  it('reads an end frame before any data as the status it is, and says what is wrong with a bad one', async () => {
    const read = async (bytes: number[], cuts: number[] = []): Promise<Error> => await rejection(() => collect(deframe(sliced(Uint8Array.from(bytes), cuts))))
    const notFound = await read([0, Status.NotFound, 2, 0x68, 0x69], [1, 2, 3])
    assert.equal(notFound.name, 'NotFound')
    assert.match(notFound.message, /hi/)
    // An end frame followed by anything, a little or a lot: bytes after the end frame.
    for (const extra of [1, 100, 5000]) {
      const error = await read([0, Status.NotFound, 0, ...new Array<number>(extra).fill(7)])
      assert.equal(error.name, 'MalformedMessage')
      assert.match(error.message, /after the end frame/, `${extra} bytes`)
    }
    const long = await read([0, Status.Internal, 0x80, 0x40, ...new Array<number>(8192).fill(65)])
    assert.match(long.message, /over 1024/)
    assert.equal((await read([0, Status.Internal, 5, 65])).name, 'Aborted', 'cut inside the message')
    const unknown = await read([3, 1, 2, 3, 0, 9, 0])
    assert.equal(unknown.name, 'MalformedMessage')
    assert.match(unknown.message, /unknown end status 9/)
  })

  it('cuts a long status message on a character boundary within 1024 bytes, read back whole', async () => {
    const { stream, written } = recorder()
    await new ResponseWriter(stream, true).end(Status.Internal, 'é'.repeat(2000))
    const error = await rejection(() => collect(deframe(sliced(concat(written)))))
    assert.equal(error.name, 'Internal')
    assert.equal(error.message, `peer: ${'é'.repeat(512)}`)
  })

  it('on plain iroh streams: a clean close for success and for nothing found, a reset for other errors', async () => {
    const ok = recorder()
    await new ResponseWriter(ok.stream, false).end(Status.Ok)
    assert.deepEqual(ok.state, { closed: true, aborted: false })
    const missing = recorder()
    await new ResponseWriter(missing.stream, false).end(Status.NotFound)
    assert.deepEqual(missing.state, { closed: true, aborted: false })
    const refused = recorder()
    await new ResponseWriter(refused.stream, false).end(Status.Permission)
    assert.deepEqual(refused.state, { closed: false, aborted: true })
  })
})

describe('what a provider says of an error on the wire', () => {
  it('keeps verity\'s named errors, and says only the name of errors that may describe the provider\'s machine', () => {
    const generic = (name: string): string => `${name}: the provider failed serving this request (its log has why)`
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/home/alice/secret/notes.txt'"), { code: 'ENOENT', syscall: 'open', path: '/home/alice/secret/notes.txt' })
    assert.equal(wireMessage(enoent), generic('Error'))
    assert.equal(wireMessage(new TypeError('cannot read x of undefined at /srv/app.js')), generic('TypeError'))
    assert.equal(wireMessage(new StoreFull({ path: '/var/lib/verity/store/data/ab.data', code: 'ENOSPC' })), generic('StoreFull'))
    assert.equal(wireMessage(new NotFound('ab', 'blob ab is not here')), 'NotFound: blob ab is not here')
    assert.match(wireMessage(new RequestTooLarge('ranges', 5000, 4096)), /^RequestTooLarge: /)
    assert.doesNotMatch(wireMessage(enoent), /alice/)
  })
})
