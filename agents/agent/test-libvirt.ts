/**
 * Helpers for the agent's tests on a real libvirtd: list what an agent with a name prefix
 * holds (through virsh, an independent observer) and remove all of it at teardown; the tiny
 * image and random network they boot.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import type { DesiredNetwork } from '../contract/desired.js';
import { MemoryAgentStore } from './memory-store.js';
import { network } from './test-fixtures.js';
import { virsh } from '../hypervisor/libvirt-test-env.js';

export interface Holdings {
  domains: string[];
  networks: string[];
  volumes: string[];
  images: string[];
}

/** What virsh sees of one agent's objects (names sorted). */
export async function holdings(uri: string, prefix: string): Promise<Holdings> {
  const names = (out: string) => out.split('\n').map((l) => l.trim()).filter((n) => n.startsWith(`${prefix}-`)).sort();
  const vols = async (pool: string) =>
    (await virsh(uri, 'vol-list', pool).catch(() => '')).split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[0]!).sort();
  return {
    domains: names(await virsh(uri, 'list', '--all', '--name')),
    networks: names(await virsh(uri, 'net-list', '--all', '--name')),
    volumes: await vols(`${prefix}-volumes`),
    images: await vols(`${prefix}-images`),
  };
}

/** Removes every domain, network, volume and pool named with `prefix-`. */
export async function removeAll(hv: Hypervisor, prefix: string): Promise<void> {
  for (const d of await hv.listDomains()) if (d.name.startsWith(`${prefix}-`)) await hv.deleteDomain(d.name).catch(() => undefined);
  for (const p of [`${prefix}-volumes`, `${prefix}-images`]) {
    for (const v of await hv.listVolumes(p).catch(() => [])) await hv.deleteVolume(p, v.name).catch(() => undefined);
    await hv.deletePool(p).catch(() => undefined);
  }
  for (const n of await hv.listNetworks()) if (n.name.startsWith(`${prefix}-`)) await hv.deleteNetwork(n.name).catch(() => undefined);
}

/**
 * A 64 MiB qcow2 made by qemu-img in `dir`, served by an in-memory store at images/tiny.qcow2
 * (what the agent's libvirt tests and bench boot from).
 */
export async function tinyImageStore(dir: string): Promise<{ bytes: Buffer; store: MemoryAgentStore }> {
  const imagePath = join(dir, 'tiny.qcow2');
  await promisify(execFile)('qemu-img', ['create', '-q', '-f', 'qcow2', imagePath, '64M']);
  const bytes = await readFile(imagePath);
  const store = new MemoryAgentStore();
  store.putImageBytes('images', 'tiny.qcow2', bytes);
  return { bytes, store };
}

/** A NAT network on a random 10.a.b.0/24 with a random `rs…` bridge (suites may run at once). */
export function randomLan(name: string): { net: DesiredNetwork; a: number; b: number; bridge: string } {
  const a = randomInt(100, 200);
  const b = randomInt(1, 250);
  const bridge = `rs${randomBytes(4).toString('hex')}`;
  return { net: network({ name, subnet: [a, b], bridge }), a, b, bridge };
}
