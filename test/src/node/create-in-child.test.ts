import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { repoRoot } from '../../helpers.js'

const run = promisify(execFile)

/** What loaded-child.js printed for a node created with `options` in a process of its own, `refuse` unloadable. */
interface Created { packages: string[], error?: string, message?: string, reopened?: boolean }

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
    assert.deepEqual(failure, { error: 'Error', message: 'node-datachannel refused by the test\'s hook', reopened: true })
    assert.ok(packages.includes('@libp2p/webrtc'))
  })
})

describe('createNode that fails leaves its store closed (a process of its own: a store left open stays locked there)', function () {
  this.timeout(120000)

  it('bad DHT settings: RangeError, checked before the store opens', async () => {
    const { packages, ...failure } = await child({ dht: { alpha: -1 } })
    assert.deepEqual(failure, { error: 'RangeError', message: failure.message, reopened: true })
    assert.ok(!packages.includes('@libp2p/kad-dht'))
  })

  it('a bad STUN server (found before WebRTC loads): TypeError, the store closed, and WebRTC never loaded, not even to be let go', async () => {
    const { packages, ...failure } = await child({ reachability: { stun: ['not a server'] } })
    assert.deepEqual(failure, { error: 'TypeError', message: failure.message, reopened: true })
    for (const name of ['@libp2p/webrtc', 'node-datachannel']) assert.ok(!packages.includes(name), `${name} was loaded`)
  })

  it('good options: the node is made (the child reports failures, not its own)', async () => {
    assert.equal((await child({})).error, undefined)
  })
})
