import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { repoRoot } from '../../helpers.js'

const run = promisify(execFile)

/** What loaded-child.js printed for a node created with `options` in a process of its own, `refuse` unloadable. */
interface Created { packages: string[], error?: string, message?: string, left?: string[], reopened?: boolean }

async function child (options: object, refuse: string[] = []): Promise<Created> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'dist', 'test', 'src', 'node', 'loaded-child.js'), JSON.stringify(options), JSON.stringify(refuse)], { timeout: 60000 })
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Created
}

/** The packages a process loads to create (and stop) a node with `options`. */
async function packagesLoaded (options: object): Promise<string[]> {
  const result = await child(options)
  assert.equal(result.error, undefined, `creating the node failed: ${JSON.stringify(result)}`)
  return result.packages
}

/** Loaded only for a node that asks for them: @libp2p/webrtc alone is about 23 MB of resident memory. */
const OPTIONAL = ['@libp2p/webrtc', '@libp2p/kad-dht', '@libp2p/circuit-relay-v2', '@libp2p/autonat', '@libp2p/dcutr']

describe('createNode loads the packages of optional services only when asked', function () {
  this.timeout(120000)

  it('a node with neither DHT nor reachability loads none of them, and does load its transports', async () => {
    const loaded = await packagesLoaded({})
    // The hook sees what is loaded: the transports every node has are there.
    for (const name of ['libp2p', '@chainsafe/libp2p-quic', '@libp2p/tcp']) assert.ok(loaded.includes(name), `${name} not seen among ${loaded.join(', ')}`)
    for (const name of OPTIONAL) assert.ok(!loaded.includes(name), `${name} was loaded`)
  })

  it('a node that asks for AutoNAT loads the relay transport and AutoNAT, and still no WebRTC or DHT', async () => {
    const loaded = await packagesLoaded({ reachability: { autoNat: true, holePunch: false } })
    for (const name of ['@libp2p/circuit-relay-v2', '@libp2p/autonat']) assert.ok(loaded.includes(name), `${name} not loaded`)
    for (const name of ['@libp2p/webrtc', '@libp2p/kad-dht', '@libp2p/dcutr']) assert.ok(!loaded.includes(name), `${name} was loaded`)
  })

  it('a hole-punching node whose WebRTC cannot load fails with that error and leaves its store closed', async () => {
    const { packages, ...failure } = await child({ reachability: { holePunch: true } }, ['node-datachannel'])
    assert.deepEqual(failure, { error: 'Error', message: 'node-datachannel refused by the test\'s hook', left: ['identity.key', 'store'], reopened: true })
    assert.ok(packages.includes('@libp2p/webrtc'))
  })
})

describe('createNode that fails leaves its store closed (a process of its own: a store left open stays locked there)', function () {
  this.timeout(120000)

  it('bad DHT settings: RangeError, checked before the store opens', async () => {
    const { packages, ...failure } = await child({ dht: { alpha: -1 } })
    assert.deepEqual(failure, { error: 'RangeError', message: failure.message, left: [], reopened: true })
    assert.match(failure.message ?? '', /alpha/)
    assert.ok(!packages.includes('@libp2p/kad-dht'))
  })

  it('a bad STUN server (found before WebRTC loads): TypeError, the store closed, and WebRTC never loaded, not even to be let go', async () => {
    const { packages, ...failure } = await child({ reachability: { stun: ['not a server'] } })
    assert.deepEqual(failure, { error: 'TypeError', message: 'a STUN server is host:port (or stun:host:port), got not a server', left: [], reopened: true })
    for (const name of ['@libp2p/webrtc', 'node-datachannel']) assert.ok(!packages.includes(name), `${name} was loaded`)
  })

  it('each bad reachability setting is refused before the identity is written or the store opens: the data directory stays empty', async () => {
    const relayId = '12D3KooWGfvJBUJTH2NNx9bn6AYuHMkNvNqAKuJzYhh7q6cwtj1X'
    const cases: Array<[object, string, RegExp]> = [
      [{ relay: { maxReservations: 0 } }, 'RangeError', /relay\.maxReservations must be a positive integer/],
      [{ relayVia: ['/ip4/127.0.0.1/tcp/1'] }, 'TypeError', /a relay is a multiaddr ending in \/p2p\/<peer id>/],
      [{ relayVia: [`/ip4/127.0.0.1/tcp/1/p2p/${relayId}`, 'not a multiaddr'] }, '', /./],
      [{ discoverRelays: 2 }, 'TypeError', /finds relays through the DHT/],
      [{ stunServer: { host: 'localhost', port: 0 } }, 'TypeError', /stunServer\.host must be an IP address/],
      [{ stunServer: { host: '127.0.0.1', port: 70000 } }, 'RangeError', /stunServer\.port must be a whole number from 0 to 65535/],
      [{ stunServer: { maxPerSecond: 0 } }, 'RangeError', /maxPerSecond must be a positive integer/]
    ]
    for (const [reachability, name, message] of cases) {
      const { packages, ...failure } = await child({ reachability })
      const what = JSON.stringify(reachability)
      assert.ok(failure.error !== undefined, `${what} was accepted`)
      if (name !== '') assert.equal(failure.error, name, what)
      assert.match(failure.message ?? '', message, what)
      assert.deepEqual(failure.left, [], `${what} left ${String(failure.left)}`)
      for (const name of ['@libp2p/webrtc', '@libp2p/circuit-relay-v2']) assert.ok(!packages.includes(name), `${what}: ${name} was loaded`)
    }
  })

  it('good options: the node is made (the child reports failures, not its own)', async () => {
    assert.equal((await child({})).error, undefined)
  })
})
