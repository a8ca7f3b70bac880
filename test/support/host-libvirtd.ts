/**
 * A libvirtd of its own for a test host (test/support/netns.ts), as every real hypervisor host
 * has. Hosts that shared this machine's one libvirtd would collide: two agents each defining
 * the same NAT network (same CIDR, same gateway address) would be refused by the one daemon,
 * and an instance's UUID could exist only once. Here each host gets:
 *
 * - a mount namespace of its own (`unshare --mount --propagation private`, entered inside the
 *   host's network namespace, whose `ip netns exec` also mounts that namespace's /sys), where
 *   private /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt
 *   are bind-mounted over the real ones, empty but for copies of the daemons' settings, the
 *   stock nwfilters and the probed qemu capabilities (never the machine's own domains,
 *   networks or pools);
 * - virtlogd and libvirtd started in it, so `qemu:///system` inside that mount namespace is
 *   this host's daemon at the usual socket path, and the bridges, dnsmasq and NAT rules it
 *   makes for networks live in the host's network namespace, its guests' processes too.
 *
 * A `sleep` process holds the namespaces; `spawn()` and `virsh()` run commands in them with
 * `nsenter`; `start()` again on the same folder after a power-off boots the host with the disk
 * it had. Nothing it makes is visible outside the host: the root libvirtd never sees its
 * domains, networks or pools, and the host's own cgroups are not mounted in it, so qemu runs
 * without cgroups of libvirt's. `stop()` removes every domain, network and pool through the
 * daemon, stops the daemons and removes the private folders; `TestNet.powerOff(host)` is the
 * host losing power instead (then `stop()` only removes the folders).
 *
 * Needs root, iproute2, util-linux (unshare, nsenter) and libvirt's daemons.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { until } from './wait.js';
import type { HostProcess, SpawnInOptions, TestNet } from './netns.js';

const run = promisify(execFile);

/** Folders libvirtd writes; each host gets private ones over these paths. */
const PRIVATE_DIRS = ['/run/libvirt', '/var/lib/libvirt', '/var/cache/libvirt', '/etc/libvirt', '/var/log/libvirt'];
/**
 * What starts as a copy of this machine's: the daemons' settings (/etc/libvirt/*.conf, e.g.
 * qemu.conf's user and security driver), the stock nwfilters and the probed qemu capabilities.
 * Never the machine libvirtd's own domains, networks, pools or secrets (/etc/libvirt/qemu,
 * storage, secrets): a host starts with none.
 */
const COPIED = ['/etc/libvirt/*.conf', '/etc/libvirt/nwfilter', '/var/cache/libvirt/qemu'];
export const HOST_LIBVIRT_URI = 'qemu:///system';
const READY_LINE = 'host libvirtd started';
const START_MS = 60_000;
const STOP_MS = 15_000;
const POLL_MS = 200;

/** The shell run in the new mount namespace: private folders, the daemons, then the holder. */
function holderScript(dir: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ['set -eu'];
  for (const d of PRIVATE_DIRS) lines.push(`mkdir -p ${q(join(dir, 'root', d))} ${q(d)}`);
  for (const c of COPIED) {
    const into = q(join(dir, 'root', c.slice(0, c.lastIndexOf('/'))));
    lines.push(`for f in ${c}; do if [ -e "$f" ]; then cp -a "$f" ${into}/; fi; done`);
  }
  // Bind only after every copy: a copy made after a bind would read the private folder.
  for (const d of PRIVATE_DIRS) lines.push(`mount --bind ${q(join(dir, 'root', d))} ${q(d)}`);
  lines.push(`virtlogd -d -p ${q(join(dir, 'virtlogd.pid'))}`);
  lines.push(`libvirtd -d -p ${q(join(dir, 'libvirtd.pid'))}`);
  lines.push(`echo ${READY_LINE}`);
  lines.push('exec sleep infinity');
  return lines.join('\n');
}

export class HostLibvirtd {
  private constructor(
    private readonly net: TestNet,
    readonly host: string,
    readonly dir: string,
    readonly holder: HostProcess,
  ) {}

  /** The pid whose mount namespace holds this host's private libvirt folders. */
  get pid(): number {
    return this.holder.child.pid!;
  }

  /** Whether the namespaces' holder still runs (false once the host lost power). */
  get alive(): boolean {
    return this.holder.child.exitCode === null && this.holder.child.signalCode === null;
  }

  /** `virsh -q -c qemu:///system args` on this host: its own daemon answers. */
  async virsh(...args: string[]): Promise<string> {
    const r = await run('ip', ['netns', 'exec', this.net.host(this.host).ns, 'nsenter', '-t', String(this.pid), '-m',
      'virsh', '-q', '-c', HOST_LIBVIRT_URI, ...args]);
    return r.stdout;
  }

  /** `ip args` in this host's network namespace (bridges, addresses, routes). */
  async ip(...args: string[]): Promise<string> {
    return (await run('ip', ['-n', this.net.host(this.host).ns, ...args])).stdout;
  }

  /** Runs a command on this host, in its network and mount namespaces (tracked by the TestNet). */
  spawn(command: string, args: string[], opts: Omit<SpawnInOptions, 'mountNamespaceOf'> = {}): HostProcess {
    return this.net.spawnIn(this.host, command, args, { ...opts, mountNamespaceOf: this.pid });
  }

  /**
   * Starts the host's own virtlogd and libvirtd; resolves once libvirtd answers `virsh`. On a
   * `dir` used before (the host powered on again after `TestNet.powerOff`) the host keeps its
   * disk: /etc/libvirt (defined domains, networks, pools), /var/lib/libvirt and the logs; only
   * /run/libvirt starts empty, as a tmpfs does after a power cycle.
   */
  static async start(net: TestNet, host: string, dir: string): Promise<HostLibvirtd> {
    await mkdir(dir, { recursive: true });
    await rm(join(dir, 'root', 'run'), { recursive: true, force: true });
    for (const daemon of ['libvirtd', 'virtlogd']) await rm(join(dir, `${daemon}.pid`), { force: true });
    const holder = net.spawnIn(host, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', holderScript(dir)]);
    const h = new HostLibvirtd(net, host, dir, holder);
    await until(`libvirtd on ${host}`, START_MS, async () => {
      if (!h.alive) throw new Error(`the namespace holder of ${host} exited: ${holder.err().slice(-1000)}`);
      if (!holder.out().includes(READY_LINE)) return false;
      await h.virsh('version');
      return true;
    }, POLL_MS);
    return h;
  }

  private async names(kind: 'list' | 'net-list' | 'pool-list'): Promise<string[]> {
    return (await this.virsh(kind, '--all', '--name')).split('\n').map((s) => s.trim()).filter(Boolean);
  }

  /**
   * Removes every domain, network and pool through the daemon, stops virtlogd and libvirtd and
   * the holder, and deletes the private folders. Safe after a power-off and when called twice.
   */
  async stop(): Promise<void> {
    if (this.alive) {
      const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
      for (const d of await this.names('list').catch(() => [])) {
        await quiet(this.virsh('destroy', d));
        await quiet(this.virsh('undefine', d, '--nvram'));
      }
      for (const n of await this.names('net-list').catch(() => [])) {
        await quiet(this.virsh('net-destroy', n));
        await quiet(this.virsh('net-undefine', n));
      }
      for (const p of await this.names('pool-list').catch(() => [])) {
        await quiet(this.virsh('pool-destroy', p));
        await quiet(this.virsh('pool-undefine', p));
      }
      for (const daemon of ['libvirtd', 'virtlogd']) {
        const pid = Number((await readFile(join(this.dir, `${daemon}.pid`), 'utf8').catch(() => '')).trim());
        if (!pid) continue;
        const running = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
        if (running()) process.kill(pid, 'SIGTERM');
        await quiet(until(`${daemon} on ${this.host} to stop`, STOP_MS, () => !running(), POLL_MS));
        if (running()) process.kill(pid, 'SIGKILL');
      }
      this.holder.child.kill('SIGKILL');
      await this.holder.exit;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
