/**
 * `npm run build` step: compile the native BLAKE3 kernel (kernel.c, once per vector width, and
 * addon.c) into dist/store/bao/native/blake3.node with the system's C compiler (`CC`, else `cc`)
 * against the running Node's headers. Where either is missing or the compile fails, it says so
 * and stops without failing the build: NativeCore is then not offered and the WebAssembly kernel
 * hashes (store/bao/core.ts).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url)) // dist/store/bao/native
const root = join(here, '..', '..', '..', '..')
const sources = join(root, 'store', 'bao', 'native')
const output = join(here, 'blake3.node')
const compiler = process.env.CC ?? 'cc'

/** Node's headers: beside the running binary (a system or nvm install), or where npm was told. */
function nodeHeaders (): string | undefined {
  const candidates = [
    process.env.npm_config_nodedir === undefined ? undefined : join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node')
  ]
  return candidates.find(dir => dir !== undefined && existsSync(join(dir, 'node_api.h')))
}

/** Why the kernel could not be built: the build goes on without it. */
class Skipped extends Error {}

/** A compile is given this long (a stuck compiler must not hang the build). */
const COMPILE_TIMEOUT_MS = 120000

/**
 * On x64 every object is made for the baseline x86-64 (whatever the compiler's default), and the
 * wider kernels add only their own vector extension: the module's load-time check is then the
 * only thing between a CPU and an instruction it lacks.
 */
const BASE = process.arch === 'x64' ? ['-march=x86-64', '-mtune=generic'] : []

/** Compiles and links into `work`, then moves the module into place beside it. */
function build (headers: string, work: string): void {
  const cc = (args: string[]): void => {
    const run = spawnSync(compiler, ['-std=gnu11', '-O3', '-fPIC', ...BASE, ...args], { encoding: 'utf8', timeout: COMPILE_TIMEOUT_MS })
    if (run.error !== undefined) throw new Skipped(`${compiler}: ${run.error.message}`)
    if (run.status !== 0) {
      const lines = run.stderr.trim().split('\n')
      throw new Skipped(`${compiler} exit ${String(run.status)}: ${lines.find(line => /error/i.test(line)) ?? lines[0] ?? ''}`)
    }
  }
  const widths: Array<[number, string[]]> = process.arch === 'x64' ? [[4, []], [8, ['-mavx2']], [16, ['-mavx512f']]] : [[4, []]]
  const objects: string[] = []
  for (const [lanes, flags] of widths) {
    const object = join(work, `kernel${lanes}.o`)
    cc(['-c', `-DW=${lanes}`, ...flags, join(sources, 'kernel.c'), '-o', object])
    objects.push(object)
  }
  const addon = join(work, 'addon.o')
  cc(['-c', `-I${headers}`, join(sources, 'addon.c'), '-o', addon])
  const linked = join(work, 'blake3.node')
  cc(['-shared', addon, ...objects, '-o', linked])
  renameSync(linked, output)
}

let work: string | undefined
try {
  const headers = nodeHeaders()
  if (headers === undefined) throw new Skipped('no node_api.h beside this Node')
  mkdirSync(here, { recursive: true })
  // Beside the output, not in the system's temporary directory: a rename cannot cross file systems.
  work = mkdtempSync(join(here, '.build-'))
  build(headers, work)
} catch (err) {
  // Whatever went wrong, the build goes on: the WebAssembly kernel hashes instead.
  const why = err instanceof Skipped ? err.message : String(err)
  process.stdout.write(`native BLAKE3 kernel not built (${why}): the WebAssembly kernel will hash\n`)
} finally {
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
}
