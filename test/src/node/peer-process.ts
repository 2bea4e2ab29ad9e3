import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface, type Interface } from 'node:readline'
import { join } from 'node:path'
import { repoRoot } from '../../helpers.js'
import type { PeerReady, PeerSpec } from './peer-child.js'

/** A node in a child process (test/src/node/peer-child.ts), driven by line commands. */
export class PeerProcess {
  private readonly lines: AsyncIterator<string>
  private constructor (private readonly child: ChildProcess, private readonly rl: Interface, readonly ready: PeerReady) {
    this.lines = rl[Symbol.asyncIterator]()
  }

  static async start (spec: PeerSpec = {}): Promise<PeerProcess> {
    const child = spawn(process.execPath, ['--expose-gc', join(repoRoot, 'dist', 'test', 'src', 'node', 'peer-child.js'), JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'inherit']
    })
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    const first = await rl[Symbol.asyncIterator]().next()
    if (first.done === true) throw new Error('peer process exited before it was ready')
    const peer = new PeerProcess(child, rl, JSON.parse(first.value as string) as PeerReady)
    return peer
  }

  /** Its address on a transport: 'quic-v1' or 'tcp'. */
  addr (transport: 'quic-v1' | 'tcp' = 'quic-v1'): string {
    const found = this.ready.addrs.find(a => transport === 'tcp' ? a.includes('/tcp/') : a.includes('/quic-v1'))
    if (found === undefined) throw new Error(`no ${transport} address in ${this.ready.addrs.join(' ')}`)
    return found
  }

  async command<T> (line: string): Promise<T> {
    this.child.stdin?.write(line + '\n')
    const next = await this.lines.next()
    if (next.done === true) throw new Error('peer process ended')
    return JSON.parse(next.value as string) as T
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise(resolve => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await exited
    this.rl.close()
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing, a peer hung mid-request. */
  freeze (): void {
    this.child.kill('SIGSTOP')
  }

  async stop (): Promise<void> {
    if (this.child.signalCode !== null) return
    if (this.child.exitCode !== null) return
    const exited = new Promise(resolve => this.child.once('exit', resolve))
    this.child.stdin?.end('stop\n')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10000)
    await exited
    clearTimeout(timer)
    this.rl.close()
  }
}
