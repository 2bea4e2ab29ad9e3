import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { onDisk } from '../../store/disk-errors.js'
import { makeDirectory } from '../../store/make-directory.js'

/** File in the data directory holding the node's Ed25519 private key (libp2p protobuf). */
export const IDENTITY_FILE = 'identity.key'

/**
 * The node's identity: read from the data directory, or made and saved there (mode 0600,
 * written to a temp file and renamed, so a crash never leaves half a key).
 */
export async function loadOrCreateIdentity (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, IDENTITY_FILE)
  try {
    return privateKeyFromProtobuf(await onDisk(path, false, async () => await readFile(path)))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const key = await generateKeyPair('Ed25519')
  const temp = `${path}.${process.pid}.tmp`
  // A full or read-only data directory says so by name (StoreFull, StoreReadOnly), as the store does.
  try {
    await onDisk(path, true, async () => {
      await makeDirectory(dataDir)
      await writeFile(temp, privateKeyToProtobuf(key), { mode: 0o600, flush: true })
      await rename(temp, path)
    })
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
  return key
}
