import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { repoRoot } from '../helpers.js'

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')

/** Listen on loopback only: tests send traffic to 127.0.0.1 and nowhere else. */
export const LOCAL = ['--listen', '/ip4/127.0.0.1/udp/0/quic-v1', '--listen', '/ip4/127.0.0.1/tcp/0']

/** `stderrAt`: when its first stderr bytes came (performance.now()), to time from what it says first rather than from its process's start. */
export interface Ran { status: number | null, stdout: Buffer, stderr: string, stderrAt?: number | undefined }

/** Runs `verity args` to its end; `onLine` sees each stdout line as it comes and may act on it. */
export async function verity (args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv, onLine?: (line: string, child: ChildProcess) => void } = {}): Promise<Ran> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  let stderr = ''
  let stderrAt: number | undefined
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderrAt ??= performance.now(); stderr += text })
  if (options.onLine !== undefined) {
    const onLine = options.onLine
    createInterface({ input: child.stdout }).on('line', line => { out.push(Buffer.from(line + '\n')); onLine(line, child) })
  } else {
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  }
  const status = await new Promise<number | null>(resolve => child.once('close', code => { resolve(code) }))
  return { status, stdout: Buffer.concat(out), stderr, stderrAt }
}

/** `verity args` started with its stdout a pipe nobody reads (a consumer that stalls). */
export function spawnVerity (args: string[]): ChildProcess {
  return spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
}

/**
 * A long-running `verity` process (send, serve) started and left running: the first line it
 * prints on stdout (a ticket, a URL), its process id, what it printed on stderr so far and every
 * stdout line so far (--json events after the first), and how to end it with Ctrl-C (SIGINT) and get its exit code.
 */
export async function startVerity (args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ line: string, pid: number, stderr: () => string, lines: () => string[], stop: () => Promise<number | null>, signal: (name: NodeJS.Signals) => Promise<number | null> }> {
  const child = spawn(process.execPath, [cli, ...args], { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text })
  const exited = new Promise<number | null>(resolve => child.once('close', code => { resolve(code) }))
  const lines: string[] = []
  const first = await new Promise<string | undefined>(resolve => {
    createInterface({ input: child.stdout }).on('line', line => { lines.push(line); resolve(line) }).once('close', () => { resolve(undefined) })
  })
  if (first === undefined) throw new Error(`verity ${args[0] ?? ''} printed nothing: ${stderr}`)
  return {
    line: first.trim(),
    pid: child.pid as number,
    stderr: () => stderr,
    lines: () => [...lines],
    stop: async () => { child.kill('SIGINT'); return await exited },
    signal: async name => { child.kill(name); return await exited }
  }
}
