import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FsStore } from '../../store/fs-store.js'
import type { VerityNode } from '../node/create-node.js'
import { quicAddrs, type SocketAddr } from '../ticket.js'

/** The store of a data directory, opened without a network node (add, ls, tag, gc, verify...). */
export async function openStore (dir: string): Promise<FsStore> {
  return await FsStore.open(join(dir, 'store'))
}

/** Where the node running on a data directory (send, serve) listens: for `verity ticket`. */
const NODE_FILE = 'node.json'

interface Announced { pid: number, peerId: string, addrs: SocketAddr[] }

/** Record the running node's addresses in its data directory; the returned function removes them. */
export async function announce (dir: string, node: VerityNode): Promise<() => Promise<void>> {
  const path = join(dir, NODE_FILE)
  const record: Announced = { pid: process.pid, peerId: node.peerId, addrs: quicAddrs(node.addrs()) }
  await writeFile(path, JSON.stringify(record) + '\n')
  return async () => { await rm(path, { force: true }) }
}

/** The addresses a live node on this data directory announced, if one is running. */
export async function announced (dir: string): Promise<Announced | undefined> {
  let record: Announced
  try {
    record = JSON.parse(await readFile(join(dir, NODE_FILE), 'utf8')) as Announced
  } catch {
    return undefined
  }
  try {
    process.kill(record.pid, 0) // throws when no such process: a node that was killed left the file
    return record
  } catch {
    return undefined
  }
}
