/**
 * `npm run build` step: generate the kernel source and compile it to WebAssembly with
 * AssemblyScript. Skips the compile when the generated source has not changed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import asc from 'assemblyscript/asc'
import { generateKernel } from './generate.js'

const here = dirname(fileURLToPath(import.meta.url)) // dist/store/bao/wasm
const root = join(here, '..', '..', '..', '..')
const template = join(root, 'store', 'bao', 'wasm', 'assembly', 'kernel.ts')
const source = join(here, 'kernel.generated.ts')
const output = join(here, 'blake3.wasm')

/**
 * Pages of linear memory: the kernel's fixed layout needs a little over 1.2 MiB (20 pages), and
 * 8 MiB after it are lent to callers as read buffers (WasmCore.borrowInput). Untouched pages
 * cost no RSS.
 */
const MEMORY_PAGES = 20 + 128

const generated = generateKernel(readFileSync(template, 'utf8'))
if (existsSync(output) && existsSync(source) && readFileSync(source, 'utf8') === generated) {
  process.exit(0)
}
mkdirSync(here, { recursive: true })
writeFileSync(source, generated)
const { error, stderr } = await asc.main([
  source,
  '--outFile', output,
  '--optimizeLevel', '3',
  '--shrinkLevel', '0',
  '--runtime', 'stub',
  '--noAssert',
  '--enable', 'simd',
  '--initialMemory', String(MEMORY_PAGES),
  '--maximumMemory', String(MEMORY_PAGES)
])
if (error !== null && error !== undefined) {
  process.stderr.write(stderr.toString())
  process.stderr.write(`kernel build failed: ${error.message}\n`)
  process.exit(1)
}
