/**
 * Helpers for the agent's tests on a real libvirtd: list what an agent with a name prefix
 * holds (through virsh, an independent observer) and remove all of it at teardown.
 */
import type { Hypervisor } from '../hypervisor/hypervisor.js';
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
