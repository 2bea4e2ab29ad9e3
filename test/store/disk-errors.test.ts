import assert from 'node:assert/strict'
import { diskError, errnoOf, onDisk } from '../../store/disk-errors.js'
import { StoreFull } from '../../store/errors.js'
import { rejection } from '../helpers.js'

/** An error as Node's fs raises it. */
function errno (code: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, write`), { code, ...(path === undefined ? {} : { path }) })
}

/** An error as classic-level raises it for a failed LevelDB call. */
function level (message: string): Error {
  return Object.assign(new Error(message), { code: 'LEVEL_IO_ERROR' })
}

describe('disk errors: errno to named store error', () => {
  it('maps Node errno codes by kind, keeping the path, the code and the cause', () => {
    const cases: Array<[string, boolean, string | undefined]> = [
      ['ENOSPC', true, 'StoreFull'],
      ['EDQUOT', true, 'StoreFull'],
      ['ENOSPC', false, 'StoreFull'],
      ['EROFS', true, 'StoreReadOnly'],
      ['EROFS', false, 'StoreReadOnly'],
      ['EACCES', true, 'StoreReadOnly'],
      ['EPERM', true, 'StoreReadOnly'],
      ['EACCES', false, undefined], // reading: not the store's read-only-ness
      ['EIO', true, 'StoreIOError'],
      ['EIO', false, 'StoreIOError'],
      ['ESTALE', false, 'StoreIOError'],
      ['EUCLEAN', false, 'StoreIOError'],
      ['ENOENT', true, undefined],
      ['EEXIST', true, undefined],
      ['EMFILE', true, undefined]
    ]
    for (const [code, writing, name] of cases) {
      const cause = errno(code)
      const error = diskError(cause, '/s/data/ab.data', writing)
      assert.equal(error?.name, name, `${code} ${writing ? 'writing' : 'reading'}`)
      if (error === undefined) continue
      assert.equal(error.path, '/s/data/ab.data')
      assert.equal(error.code, code)
      assert.equal(error.cause, cause)
      assert.ok(error.message.includes('/s/data/ab.data'), error.message)
    }
  })

  it('says which limit was hit, and prefers the path the error names', () => {
    assert.equal(diskError(errno('ENOSPC'), '/s/x', true)?.message, 'no space left on device writing /s/x')
    assert.equal(diskError(errno('EDQUOT'), '/s/x', true)?.message, 'disk quota exceeded writing /s/x')
    assert.equal(diskError(errno('EROFS', '/s/temp/t'), '/s', true)?.path, '/s/temp/t')
  })

  it('reads LevelDB IO errors from their text, and from inside classic-level\'s failed-open wrapper', () => {
    const cases: Array<[string, string, string]> = [
      ['No space left on device', 'StoreFull', 'ENOSPC'],
      ['Disk quota exceeded', 'StoreFull', 'EDQUOT'],
      ['Read-only file system', 'StoreReadOnly', 'EROFS'],
      ['Permission denied', 'StoreReadOnly', 'EACCES'],
      ['Input/output error', 'StoreIOError', 'EIO'],
      ['Something LevelDB says', 'StoreIOError', 'LEVEL_IO_ERROR']
    ]
    for (const [text, name, code] of cases) {
      const error = diskError(level(`IO error: /s/db/000005.ldb: ${text}`), '/s/db', true)
      assert.deepEqual([error?.name, error?.code, error?.path], [name, code, '/s/db/000005.ldb'], text)
    }
    const open = Object.assign(new Error('Database failed to open'), {
      code: 'LEVEL_DATABASE_NOT_OPEN',
      cause: level('IO error: /s/db/LOCK: Read-only file system')
    })
    assert.deepEqual(errnoOf(open), { code: 'EROFS', path: '/s/db/LOCK' })
    assert.equal(diskError(open, '/s/db', true)?.name, 'StoreReadOnly')
    const locked = Object.assign(new Error('Database failed to open'), { code: 'LEVEL_DATABASE_NOT_OPEN', cause: Object.assign(new Error('IO error: lock /s/db/LOCK: already held by process'), { code: 'LEVEL_LOCKED' }) })
    assert.equal(diskError(locked, '/s/db', true), undefined, 'a lock held elsewhere is StoreLocked, not a disk failure')
  })

  it('leaves alone what is not the disk\'s doing, and an error already named', () => {
    for (const err of [new TypeError('bad'), new Error('plain'), 'a string', undefined, null, 42, Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })]) {
      assert.equal(diskError(err, '/s', true), undefined, String(err))
    }
    const named = new StoreFull({ path: '/s/a', code: 'ENOSPC' })
    assert.equal(diskError(named, '/s/b', true), named)
  })

  it('onDisk rethrows the named error, or the original one', async () => {
    const full = await rejection(() => onDisk('/s/a', true, async () => { throw errno('ENOSPC') }))
    assert.equal(full.name, 'StoreFull')
    const missing = errno('ENOENT')
    assert.equal(await rejection(() => onDisk('/s/a', true, async () => { throw missing })), missing)
    assert.equal(await onDisk('/s/a', true, async () => 7), 7)
  })
})
