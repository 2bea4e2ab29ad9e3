import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { UnexpectedTransportVersion } from './errors.js'

/**
 * The versions quic.ts, yamux.ts and tcp.ts were written for and measured with (docs/architecture.md,
 * "Transport fixes"); package.json pins exactly these. A newer version may have moved what the
 * fixes hook, or made them unneeded: read its sources, re-measure, then change both places.
 */
export const FIXED_VERSIONS = {
  '@chainsafe/libp2p-noise': '17.0.0',
  '@chainsafe/libp2p-quic': '2.1.1',
  '@chainsafe/libp2p-yamux': '8.0.1',
  '@libp2p/tcp': '11.0.28'
} as const

/**
 * Throws UnexpectedTransportVersion unless the installed transports are `expected` (an npm
 * `overrides` entry, or a bump without re-measuring, would differ). A small file read per package.
 */
export function assertFixedVersions (expected: Readonly<Record<string, string>> = FIXED_VERSIONS): void {
  for (const [dependency, version] of Object.entries(expected)) {
    const found = installedVersion(dependency)
    if (found !== version) throw new UnexpectedTransportVersion(dependency, version, found ?? '')
  }
}

/**
 * The version in the package.json of `dependency` where node would find it from here: the first
 * node_modules on the way up that holds it. (Its `exports` lists no package.json, and only an
 * `import` condition, so neither require.resolve nor a deep import can name the file.)
 */
function installedVersion (dependency: string): string | undefined {
  const require = createRequire(import.meta.url)
  for (const dir of require.resolve.paths(dependency) ?? []) {
    let text: string
    try {
      text = readFileSync(join(dir, dependency, 'package.json'), 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') continue
      throw err
    }
    return (JSON.parse(text) as { version?: string }).version
  }
  return undefined
}
