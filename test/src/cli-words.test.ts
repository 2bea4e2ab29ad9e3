import assert from 'node:assert/strict'
import { UsageError } from '../../src/cli/args.js'
import { asksVerbose, failure, withDetail } from '../../src/cli/failure.js'
import { detailOf, nextStep, troubleOf, type Trouble } from '../../src/cli/fetch-words.js'
import type { FailureReason } from '../../src/downloader/interface.js'

/** An error as a library makes it: a name, a message, and Node's code where it has one. */
function made (name: string, message: string, extra: Record<string, unknown> = {}): Error {
  const error = Object.assign(new Error(message), extra)
  error.name = name
  return error
}

describe('the CLI\'s words for failures (fetch-words.ts, failure.ts)', () => {
  const cases: Array<[string, Error, FailureReason, Trouble]> = [
    ['a TCP dial refused (libp2p keeps Node\'s code)', made('Error', 'connection error 127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9', { code: 'ECONNREFUSED' }), 'error', 'refused'],
    ['every address refused (an AggregateError)', new AggregateError([made('Error', 'connect ECONNREFUSED', { code: 'ECONNREFUSED' })], 'all dials failed'), 'error', 'refused'],
    ['a refusal kept only in a cause', made('DialError', 'dial failed', { cause: made('Error', 'x', { code: 'ECONNREFUSED' }) }), 'error', 'refused'],
    ['no route', made('Error', 'connect EHOSTUNREACH 10.0.0.9:4433', { code: 'EHOSTUNREACH' }), 'error', 'unreachable'],
    ['a peer id with no address', made('NoValidAddressesError', 'The dial request has no valid addresses'), 'error', 'noAddress'],
    ['another peer answered (TCP, noise)', made('EncryptionFailedError', 'Payload identity key A does not match expected remote identity key B'), 'error', 'wrongPeer'],
    ['another peer answered (QUIC)', made('Error', 'Dialed peer A but connected to B'), 'error', 'wrongPeer'],
    ['no verity protocol', made('UnsupportedProtocolError', 'protocol selection failed'), 'error', 'notVerity'],
    ['no connection in time', made('Timeout', 'no connection to A within 10000 ms'), 'error', 'timeout'],
    ['a reset stream', made('StreamResetError', 'stream reset'), 'error', 'broken'],
    ['the provider lacks it', made('NotFound', 'peer: NotFound: blob ab is not here'), 'notFound', 'lacks'],
    ['data that does not verify', made('LeafHashMismatch', 'chunk 3'), 'badData', 'corrupt'],
    ['under the minimum rate', made('TooSlow', 'under 4 KiB/s'), 'tooSlow', 'slow'],
    ['its policy refuses', made('Permission', 'get is not allowed for peer A'), 'error', 'denied'],
    ['it is busy', made('RateLimited', 'requests: 64 served'), 'error', 'busy'],
    ['its copy is corrupt', made('Internal', 'peer: LeafHashMismatch: local data at bytes 0..16384'), 'error', 'failedThere'],
    ['anything else', made('SomethingNew', 'what'), 'error', 'other']
  ]
  for (const [what, error, reason, trouble] of cases) {
    it(`${what}: ${trouble}`, () => { assert.equal(troubleOf(error, reason), trouble) })
  }

  it('what to do next follows the troubles', () => {
    assert.match(nextStep(['lacks', 'lacks']), /^check the hash/)
    assert.match(nextStep(['refused', 'timeout']), /^check that the sender is running/)
    assert.match(nextStep(['corrupt', 'failedThere']), /another provider/)
    assert.match(nextStep(['refused', 'lacks']), /run the same command again/, 'mixed: the general advice')
    assert.match(nextStep([]), /run the same command again/)
  })

  it('failure: one line in verity\'s words, the replaced text on a detail line with -v only, never a stack', () => {
    const usage = withDetail(new UsageError('--provider x is not a ticket'), 'Invalid IPv4 address "1.2.3"')
    assert.deepEqual(failure(usage), { code: 2, line: 'verity: --provider x is not a ticket (verity --help for usage)' })
    assert.equal(failure(usage, true).line, 'verity: --provider x is not a ticket (verity --help for usage)\nverity: detail: Invalid IPv4 address "1.2.3"')
    const full = made('Error', 'ENOSPC: no space left on device, write', { code: 'ENOSPC', syscall: 'write' })
    assert.equal(failure(full).line, 'verity: writing the output: no space left on the device (ENOSPC); free some space, then run the same command again (what was fetched is kept in the store)')
    assert.equal(failure(full, true).line.split('\n')[1], 'verity: detail: Error: ENOSPC: no space left on device, write')
    const refused = made('Error', 'connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED', address: '127.0.0.1', port: 1 })
    assert.equal(failure(refused).line, 'verity: cannot connect to 127.0.0.1:1: the connection was refused (nothing listens there: check the address, and that the program is running)')
    // verity's own plain message that quotes a code is left as it is.
    assert.equal(failure(new Error('--access-log x.log: cannot open it for writing (ENOENT)')).line, 'verity: --access-log x.log: cannot open it for writing (ENOENT)')
    const origin = Object.assign(made('OriginUnavailable', 'connect ECONNREFUSED 127.0.0.1:9: http://127.0.0.1:9/x', { url: 'http://127.0.0.1:9/x' }), { cause: made('Error', 'connect ECONNREFUSED', { code: 'ECONNREFUSED' }) })
    assert.equal(failure(origin).line, 'verity: http://127.0.0.1:9/x: the server refused the connection (is it running, and is the port right?); try again later, or check the URL')
    assert.match(failure(made('EncryptionFailedError', 'Payload identity key A does not match')).line, /^verity: the handshake failed: .*\(-v shows the libraries' own text\)$/)
    assert.equal(failure(made('StoreFull', 'no space for blob ab')).line, 'verity: StoreFull: no space for blob ab (free space or run verity gc)', 'verity\'s named errors as they were')
    assert.match(detailOf(origin), /^OriginUnavailable: .* \(cause: Error: connect ECONNREFUSED\)$/)
  })

  it('-v is asked for by -v, --verbose or a group holding v, before --', () => {
    assert.equal(asksVerbose(['get', 'x', '-v']), true)
    assert.equal(asksVerbose(['--verbose', 'get']), true)
    assert.equal(asksVerbose(['get', '-qv']), true)
    assert.equal(asksVerbose(['get', 'x']), false)
    assert.equal(asksVerbose(['get', '--', '-v']), false)
  })
})
