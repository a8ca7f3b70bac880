/**
 * The host's network devices as the kernel shows them: whether a device exists and is a Linux
 * bridge (sysfs), which devices route an IPv4 subnet (/proc/net/route, the table libvirt checks
 * before starting a network), and removal of a leftover bridge.
 *
 * Why removal shells out to `ip link del`: libvirt's interface API cannot delete a bridge on
 * this host (its udev backend is read-only), sysfs has no file that deletes a bridge, and Node
 * has no netlink sockets. iproute2 is a host-network tool, not libvirt: the rule against
 * shelling out to virsh does not cover it. It is run without a shell, on a name checked first.
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { promisify } from 'node:util';
import { AgentError } from './errors.js';

const run = promisify(execFile);

/** Where the kernel lists network devices. */
export const SYSFS_NET = '/sys/class/net';
/** The kernel's IPv4 routing table (main table), as text. */
export const PROC_ROUTE = '/proc/net/route';
/** Linux interface names: at most 15 characters, no '/', whitespace or ':'. */
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

export interface HostLinks {
  /** Does a network device with this name exist? */
  exists(name: string): Promise<boolean>;
  /** Is it a Linux bridge? */
  isBridge(name: string): Promise<boolean>;
  /** Devices with a route to exactly `address/prefix` (the network of that address). */
  routing(address: string, prefix: number): Promise<string[]>;
  /** Deletes a bridge device. */
  removeBridge(name: string): Promise<void>;
}

/** Removing a leftover bridge failed (not root, device busy…). */
export class BridgeRemovalFailedError extends AgentError {
  override name = 'BridgeRemovalFailedError';
  override readonly reason = 'BridgeRemovalFailed';
  constructor(readonly device: string, detail: string) {
    super(`could not remove leftover bridge ${device}: ${detail}`);
  }
}

function checkName(name: string): string {
  if (!IFNAME_RE.test(name)) throw new BridgeRemovalFailedError(name, 'not a valid interface name');
  return name;
}

const present = (path: string) => access(path).then(() => true, () => false);

/** An IPv4 dotted quad as an unsigned 32-bit number (network order: 10.0.0.0 -> 0x0a000000). */
export function ipv4ToNumber(address: string): number {
  const parts = address.split('.').map(Number);
  return parts.reduce((n, p) => n * 256 + p, 0) >>> 0;
}

/** A /proc/net/route hex field (host byte order) as a network-order number. */
function routeHex(hex: string, littleEndian: boolean): number {
  const n = parseInt(hex, 16) >>> 0;
  if (!littleEndian) return n;
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Devices of a /proc/net/route text with a route to exactly the network of `address/prefix`. */
export function devicesRouting(routeTable: string, address: string, prefix: number, littleEndian = endianness() === 'LE'): string[] {
  const mask = maskOf(prefix);
  const net = (ipv4ToNumber(address) & mask) >>> 0;
  const found = new Set<string>();
  for (const line of routeTable.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = routeHex(f[1]!, littleEndian);
    const m = routeHex(f[7]!, littleEndian);
    if (m === mask && dest === net) found.add(f[0]!);
  }
  return [...found].sort();
}

/** The real host, through sysfs, procfs and iproute2. */
export const kernelLinks: HostLinks = {
  exists: (name) => (IFNAME_RE.test(name) ? present(`${SYSFS_NET}/${name}`) : Promise.resolve(false)),
  isBridge: (name) => (IFNAME_RE.test(name) ? present(`${SYSFS_NET}/${name}/bridge`) : Promise.resolve(false)),
  async routing(address, prefix) {
    const table = await readFile(PROC_ROUTE, 'utf8').catch(() => '');
    return devicesRouting(table, address, prefix);
  },
  async removeBridge(name) {
    try {
      await run('ip', ['link', 'del', 'dev', checkName(name), 'type', 'bridge']);
    } catch (e) {
      throw new BridgeRemovalFailedError(name, ((e as { stderr?: string }).stderr ?? (e as Error).message).trim());
    }
  },
};
