/**
 * Several "hosts" on one machine for multi-host tests: one network namespace per host, each
 * joined by a veth pair to a private bridge in the root namespace, with addresses in a private
 * test subnet (10.231.N.0/24, N random per run so parallel runs do not collide). The root
 * namespace has the bridge's address (.1), so a test can reach every host directly; all
 * traffic stays on this machine. Processes run inside a host with `ip netns exec`.
 *
 * Only the namespaces, veths and bridge made here are ever removed (by their random names).
 * Needs root (CAP_NET_ADMIN) and iproute2; `netnsAvailable()` says whether that works here.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Second octet and third-octet range of the private test subnet. */
const SUBNET_BASE = '10.231';
const SUBNET_THIRD_MIN = 1;
const SUBNET_THIRD_SPAN = 250;
/** Host addresses start here (.1 is the bridge in the root namespace). */
const FIRST_HOST_OCTET = 10;
const PREFIX_LENGTH = 24;
const KILL_WAIT_MS = 5000;

async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args)).stdout;
}

/** Whether namespaces can be made here (root with iproute2): tries one and removes it. */
export async function netnsAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const probe = `rsprobe${randomBytes(3).toString('hex')}`;
  try {
    await ip('netns', 'add', probe);
    await ip('netns', 'del', probe);
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `"ip netns add" failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

export interface NetHost {
  /** Short name given by the test (e.g. "node1"). */
  name: string;
  /** The namespace's name. */
  ns: string;
  /** The host's address on the test subnet. */
  address: string;
}

export interface SpawnInOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Run in the mount namespace of this process (with `nsenter`, which execs the command too):
   * e.g. a host's own libvirtd's (test/support/host-libvirtd.ts), so the command finds that
   * daemon's socket at the usual path.
   */
  mountNamespaceOf?: number;
}

export interface HostProcess {
  child: ChildProcess;
  out(): string;
  err(): string;
  exit: Promise<number | null>;
}

/** A private bridge and the hosts on it; `destroy()` removes everything it made. */
export class TestNet {
  readonly hosts = new Map<string, NetHost>();
  readonly processes: HostProcess[] = [];
  readonly gateway: string;
  private readonly bridge: string;
  private readonly indexes = new Map<string, number>();

  private constructor(private readonly tag: string, private readonly subnet: string) {
    this.bridge = `rsbr${tag}`;
    this.gateway = `${subnet}.1`;
  }

  /** Creates the bridge (up, with the gateway address) in the root namespace. */
  static async create(): Promise<TestNet> {
    const tag = randomBytes(3).toString('hex');
    const third = SUBNET_THIRD_MIN + randomBytes(1)[0]! % SUBNET_THIRD_SPAN;
    const net = new TestNet(tag, `${SUBNET_BASE}.${third}`);
    await ip('link', 'add', net.bridge, 'type', 'bridge');
    try {
      await ip('addr', 'add', `${net.gateway}/${PREFIX_LENGTH}`, 'dev', net.bridge);
      await ip('link', 'set', net.bridge, 'up');
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  /** Adds a host: a namespace with loopback and eth0 (a veth into the bridge) up. */
  async addHost(name: string): Promise<NetHost> {
    const index = this.hosts.size;
    const ns = `rs${this.tag}-${name}`;
    const address = `${this.subnet}.${FIRST_HOST_OCTET + index}`;
    const host: NetHost = { name, ns, address };
    this.hosts.set(name, host);
    this.indexes.set(name, index);
    await this.plumb(host, index);
    return host;
  }

  /** Makes a host's namespace with its eth0 cabled into the bridge. */
  private async plumb(host: NetHost, index: number): Promise<void> {
    const { ns, address } = host;
    const outer = `rsv${this.tag}${index}`;
    const inner = `rsp${this.tag}${index}`;
    await ip('netns', 'add', ns);
    await ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    await ip('link', 'set', inner, 'netns', ns);
    await ip('link', 'set', outer, 'master', this.bridge);
    await ip('link', 'set', outer, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'link', 'set', inner, 'name', 'eth0');
    await ip('-n', ns, 'addr', 'add', `${address}/${PREFIX_LENGTH}`, 'dev', 'eth0');
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
    await ip('-n', ns, 'route', 'add', 'default', 'via', this.gateway);
  }

  host(name: string): NetHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no test host ${name}`);
    return h;
  }

  /**
   * Runs `command args` inside a host's namespace (`ip netns exec` execs it, so the child's pid
   * is the command's own: a signal to it reaches the command).
   */
  spawnIn(name: string, command: string, args: string[], opts: SpawnInOptions = {}): HostProcess {
    const inMounts = opts.mountNamespaceOf === undefined ? [] :
      ['nsenter', '-t', String(opts.mountNamespaceOf), '-m', `--wd=${opts.cwd ?? process.cwd()}`];
    const child = spawn('ip', ['netns', 'exec', this.host(name).ns, ...inMounts, command, ...args], {
      env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b) => { out += b; });
    child.stderr!.on('data', (b) => { err += b; });
    const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const p: HostProcess = { child, out: () => out, err: () => err, exit };
    this.processes.push(p);
    return p;
  }

  /** The pids of every process in a host's network namespace (its daemons, guests, helpers). */
  async pidsIn(name: string): Promise<number[]> {
    return (await ip('netns', 'pids', this.host(name).ns)).split('\n').filter(Boolean).map(Number);
  }

  /**
   * A host losing power: SIGKILL to every process in its namespace, whoever started it, then
   * the namespace is removed with all its kernel network state (bridges, taps, NAT rules, the
   * veth to the bridge): the host no longer answers. `powerOn` brings it back.
   */
  async powerOff(name: string): Promise<void> {
    const host = this.host(name);
    const deadline = Date.now() + KILL_WAIT_MS;
    for (;;) {
      const pids = await this.pidsIn(name);
      if (pids.length === 0) break;
      if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} in ${host.ns} survive SIGKILL`);
      for (const pid of pids) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await ip('netns', 'del', host.ns);
  }

  /**
   * A powered-off host starting again: a fresh namespace (nothing of the old kernel state)
   * with the same eth0 address on the bridge. Processes are the caller's to start.
   */
  async powerOn(name: string): Promise<void> {
    const host = this.host(name);
    const index = this.indexes.get(name)!;
    const outer = `rsv${this.tag}${index}`;
    // The old veth goes with its namespace, which the kernel tears down in the background.
    const deadline = Date.now() + KILL_WAIT_MS;
    while (await ip('link', 'show', outer).then(() => true, () => false)) {
      if (Date.now() > deadline) throw new Error(`${outer} of the powered-off ${name} is still there`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.plumb(host, index);
  }

  /** Kills every process started here, then any process left in the namespaces, then removes them and the bridge. */
  async destroy(): Promise<void> {
    for (const p of this.processes) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
    await Promise.race([Promise.all(this.processes.map((p) => p.exit)), new Promise((r) => setTimeout(r, KILL_WAIT_MS))]);
    for (const h of this.hosts.values()) {
      try {
        const pids = (await ip('netns', 'pids', h.ns)).split('\n').filter(Boolean).map(Number);
        for (const pid of pids) {
          try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        }
      } catch { /* namespace already gone */ }
      await ip('netns', 'del', h.ns).catch(() => undefined);
    }
    this.hosts.clear();
    await ip('link', 'del', this.bridge).catch(() => undefined);
  }
}
