import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'

/**
 * A small internet in network namespaces (root only): `pub`, where the relay runs, joins two NAT
 * routers; behind each, one host.
 *
 *     host a 10.0.1.2 -- 10.0.1.1 nat a 7.0.1.2 --- 7.0.1.1  pub  7.0.2.1 --- 7.0.2.2 nat b 10.0.2.1 -- 10.0.2.2 host b
 *
 * 7.0.0.0/8 is used as "public" on purpose: libp2p treats the test and documentation ranges
 * (198.51.100.0/24, 203.0.113.0/24) as private, and the namespaces reach nothing outside. The NATs
 * masquerade with nftables: `cone` keeps the source port (endpoint-independent mapping, what
 * hole punching needs), `symmetric` maps every flow to a random port (`fully-random`); both drop
 * what arrives unasked, as a home router's firewall does. `pub`
 * counts the bytes its own processes (the relay) receive (`relayBytes`) apart from those it only
 * forwards between the NATs, and what they send (`relaySentBytes`).
 */
export class NatLab {
  readonly id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`
  readonly ns = { pub: `vpub-${this.id}`, natA: `vnata-${this.id}`, natB: `vnatb-${this.id}`, a: `vha-${this.id}`, b: `vhb-${this.id}` }
  readonly relayIp = '7.0.1.1'
  private readonly children = new Set<ChildProcess>()
  private made = false

  /** Why this machine cannot run the lab (not root, no ip or nft), or undefined. */
  static missing (): string | undefined {
    if (process.getuid?.() !== 0) return 'needs root (ip netns, nftables)'
    for (const tool of ['ip', 'nft']) {
      if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error !== undefined) return `needs ${tool} (Debian: apt-get install iproute2 nftables; .ci/install-nat-tools)`
    }
    const probe = spawnSync('ip', ['netns', 'add', `vprobe-${process.pid}`], { encoding: 'utf8' })
    if (probe.status !== 0) return `cannot make network namespaces here: ${probe.stderr.trim()}`
    spawnSync('ip', ['netns', 'del', `vprobe-${process.pid}`])
    return undefined
  }

  up (): void {
    this.made = true
    const { pub, natA, natB, a, b } = this.ns
    for (const ns of Object.values(this.ns)) { ip('netns', 'add', ns); ip('-n', ns, 'link', 'set', 'lo', 'up') }
    // veth names are at most 15 characters: a short random tag, one per link end.
    const link = (left: string, leftIf: string, right: string, rightIf: string): void => {
      ip('link', 'add', leftIf, 'netns', left, 'type', 'veth', 'peer', 'name', rightIf, 'netns', right)
      ip('-n', left, 'link', 'set', leftIf, 'up')
      ip('-n', right, 'link', 'set', rightIf, 'up')
    }
    link(pub, 'pa', natA, 'wan')
    link(pub, 'pb', natB, 'wan')
    link(natA, 'lan', a, 'eth0')
    link(natB, 'lan', b, 'eth0')
    const addr = (ns: string, dev: string, cidr: string): void => { ip('-n', ns, 'addr', 'add', cidr, 'dev', dev) }
    addr(pub, 'pa', '7.0.1.1/24'); addr(pub, 'pb', '7.0.2.1/24')
    addr(natA, 'wan', '7.0.1.2/24'); addr(natA, 'lan', '10.0.1.1/24')
    addr(natB, 'wan', '7.0.2.2/24'); addr(natB, 'lan', '10.0.2.1/24')
    addr(a, 'eth0', '10.0.1.2/24'); addr(b, 'eth0', '10.0.2.2/24')
    ip('-n', natA, 'route', 'add', 'default', 'via', '7.0.1.1')
    ip('-n', natB, 'route', 'add', 'default', 'via', '7.0.2.1')
    ip('-n', a, 'route', 'add', 'default', 'via', '10.0.1.1')
    ip('-n', b, 'route', 'add', 'default', 'via', '10.0.2.1')
    for (const ns of [pub, natA, natB]) run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    nft(pub, `table inet relaymeter {
  chain input {
    type filter hook input priority 0; policy accept;
    counter
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    counter
  }
  chain output {
    type filter hook output priority 0; policy accept;
    counter
  }
}`)
    this.nat('cone')
  }

  /** Sets both NATs' mapping: `cone` keeps ports, `symmetric` picks a random port per flow. */
  nat (kind: 'cone' | 'symmetric'): void {
    for (const ns of [this.ns.natA, this.ns.natB]) {
      spawnSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'ip', 'nat'])
      // As a home router's firewall does, what nobody inside asked for is dropped on arrival, so
      // it leaves no connection-tracking entry behind: a peer's early hole-punching packet would
      // otherwise hold the tuple the host's own packet to that peer needs, and masquerade would
      // give that one another port (what a symmetric NAT does, not a cone one).
      nft(ns, `table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade${kind === 'symmetric' ? ' fully-random' : ''}
  }
  chain in {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state new drop
  }
}`)
    }
  }

  /** Bytes the processes in `pub` (the relay) have received and sent, and bytes `pub` forwarded between the NATs. */
  counters (): { relayBytes: number, forwardedBytes: number, relaySentBytes: number } {
    const text = execFileSync('ip', ['netns', 'exec', this.ns.pub, 'nft', 'list', 'table', 'inet', 'relaymeter'], { encoding: 'utf8' })
    const bytes = [...text.matchAll(/counter packets \d+ bytes (\d+)/g)].map(m => Number(m[1]))
    return { relayBytes: bytes[0] ?? 0, forwardedBytes: bytes[1] ?? 0, relaySentBytes: bytes[2] ?? 0 }
  }

  /**
   * `node args` in namespace `ns`, to its end or kill: stdout lines as they come (`onLine`),
   * stderr kept. Killed by stop() if still running.
   */
  start (ns: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.children.add(child)
    const proc: Proc = {
      child,
      lines: [],
      stderr: '',
      exited: new Promise(resolve => child.once('close', code => { this.children.delete(child); resolve(code) })),
      line: async (match, timeoutMs) => await new Promise((resolve, reject) => {
        const found = proc.lines.find(match)
        if (found !== undefined) { resolve(found); return }
        const timer = setTimeout(() => { reject(new Error(`no line within ${timeoutMs} ms; stderr: ${proc.stderr.slice(-2000)}`)) }, timeoutMs)
        const check = (line: string): void => { if (match(line)) { clearTimeout(timer); rl.off('line', check); resolve(line) } }
        rl.on('line', check)
        void proc.exited.then(() => { clearTimeout(timer); reject(new Error(`exited before the line; stderr: ${proc.stderr.slice(-2000)}`)) })
      })
    }
    const rl = createInterface({ input: child.stdout })
    rl.on('line', line => proc.lines.push(line))
    child.stderr.setEncoding('utf8').on('data', (text: string) => { proc.stderr += text })
    return proc
  }

  /** Ends every process started here (SIGINT, then SIGKILL after 3 s). */
  async stopAll (): Promise<void> {
    await Promise.all([...this.children].map(async child => {
      const done = new Promise(resolve => child.once('close', resolve))
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await done
      clearTimeout(timer)
    }))
  }

  /** Removes the namespaces (and with them their links and rules); safe to call twice. */
  down (): void {
    for (const child of this.children) child.kill('SIGKILL')
    if (!this.made) return
    for (const ns of Object.values(this.ns)) spawnSync('ip', ['netns', 'del', ns])
    this.made = false
  }
}

export interface Proc {
  child: ChildProcess
  lines: string[]
  stderr: string
  exited: Promise<number | null>
  line: (match: (line: string) => boolean, timeoutMs: number) => Promise<string>
}

function run (cmd: string, args: string[], input?: string): void {
  const result = spawnSync(cmd, args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) })
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${result.stderr || result.error?.message || `exit ${String(result.status)}`}`)
}

function ip (...args: string[]): void { run('ip', args) }

function nft (ns: string, rules: string): void { run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], rules) }
