/**
 * libp2p 3 and @chainsafe/libp2p-quic 2 call Promise.withResolvers, which Node 20 lacks (it
 * arrived in Node 22). Imported first by both entry points of the package (src/index.ts and
 * src/cli/main.ts) and by create-node.ts, which loads libp2p.
 */
interface WithResolvers { withResolvers?: <T>() => { promise: Promise<T>, resolve: (value: T) => void, reject: (reason?: unknown) => void } }

const PromiseWithResolvers = Promise as unknown as WithResolvers
if (typeof PromiseWithResolvers.withResolvers !== 'function') {
  PromiseWithResolvers.withResolvers = function <T> () {
    let resolve!: (value: T) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
export {}
