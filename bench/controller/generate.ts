/**
 * Generates a large manifest repository for the controller benchmark: projects, each with one
 * network, its instances (one file each) and its volumes (one multi-document file), plus
 * shared images and flavors, and the host list. Deterministic for the same sizes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SchedulerHost } from '../../controller/plan/scheduler.js';

export interface RepoSize {
  instances: number;
  networks: number;
  volumes: number;
  hosts: number;
}

export const DEFAULT_SIZE: RepoSize = { instances: 10_000, networks: 100, volumes: 5_000, hosts: 200 };
const ZONES = ['a', 'b', 'c', 'd'];
const FLAVORS = [['small', 1, 2048, 20], ['medium', 2, 4096, 40], ['large', 4, 8192, 80]] as const;
/** The file the warm passes change (run-once.ts edits it; bench.ts commits the edit for git mode). */
export const EDITED = join('projects', 'p000', 'instances', 'vm-0001.yaml');

/** The one-line change of the warm passes: a label added to the instance. */
export function edit(text: string): string {
  return text.replace('tier: ', 'edited: "yes"\n    tier: ');
}

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7rWq1y2QeXvZk3p0f5m4cGgk3p2yq7yJqQ0h3bTtQm ops@example';

/** Writes the repository under `dir`; returns the hosts to schedule on. */
export async function generateRepo(dir: string, size: RepoSize = DEFAULT_SIZE): Promise<SchedulerHost[]> {
  const projects = size.networks;
  await mkdir(join(dir, 'shared'), { recursive: true });
  const shared: string[] = [];
  for (const os of ['debian-12', 'ubuntu-24', 'alpine-3']) {
    shared.push(`apiVersion: ringstack.dev/v1\nkind: Image\nmetadata:\n  name: ${os}\nspec:\n  source: {bucket: images, key: ${os}.qcow2}\n  format: qcow2\n  sha256: ${'0123456789abcdef'.repeat(4)}\n  minDiskGiB: 2\n  minMemoryMiB: 256\n`);
  }
  for (const [name, vcpus, mem, disk] of FLAVORS) {
    shared.push(`apiVersion: ringstack.dev/v1\nkind: Flavor\nmetadata:\n  name: ${name}\nspec:\n  vcpus: ${vcpus}\n  memoryMiB: ${mem}\n  diskGiB: ${disk}\n`);
  }
  await writeFile(join(dir, 'shared', 'catalog.yaml'), shared.join('---\n'));
  const perProject = Math.ceil(size.instances / projects);
  const volPerProject = Math.ceil(size.volumes / projects);
  let inst = 0;
  let vol = 0;
  for (let p = 0; p < projects; p++) {
    const project = `p${String(p).padStart(3, '0')}`;
    const root = join(dir, 'projects', project);
    await mkdir(join(root, 'instances'), { recursive: true });
    // A /22 per project: 10.<a>.<b>.0/22 with b a multiple of 4.
    const a = (p * 4) >> 8;
    const b = (p * 4) & 255;
    const files: Array<[string, string]> = [];
    files.push([join(root, 'project.yaml'), `apiVersion: ringstack.dev/v1\nkind: Project\nmetadata:\n  name: ${project}\nspec:\n  quotas: {instances: 1000, vcpus: 4000, memoryMiB: 10000000, volumeGiB: 100000, networks: 10}\n`]);
    files.push([join(root, 'network.yaml'), `apiVersion: ringstack.dev/v1\nkind: Network\nmetadata:\n  name: net\n  project: ${project}\n  labels: {team: t${p % 10}}\nspec:\n  mode: nat\n  cidr: 10.${a}.${b}.0/22\n  gateway: 10.${a}.${b}.1\n  dhcp: {start: 10.${a}.${b + 2}.0, end: 10.${a}.${b + 3}.254}\n`]);
    const vols: string[] = [];
    const projectVolumes: string[] = [];
    for (let v = 0; v < volPerProject && vol < size.volumes; v++, vol++) {
      const name = `vol-${String(v).padStart(4, '0')}`;
      projectVolumes.push(name);
      vols.push(`apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata:\n  name: ${name}\n  project: ${project}\nspec:\n  sizeGiB: ${10 + (v % 5) * 10}\n  retainOnDelete: ${v % 2 === 0}\n`);
    }
    files.push([join(root, 'volumes.yaml'), vols.join('---\n')]);
    for (let i = 0; i < perProject && inst < size.instances; i++, inst++) {
      const name = `vm-${String(i).padStart(4, '0')}`;
      const [flavor] = FLAVORS[i % FLAVORS.length]!;
      const ip = i < 200 ? `\n      ip: 10.${a}.${b}.${10 + i}` : '';
      const volume = i < projectVolumes.length ? `\n  volumes: [${projectVolumes[i]}]` : '';
      const group = i % 10 === 0 ? `\n  placement:\n    antiAffinityGroup: g${i % 30}` : '';
      files.push([join(root, 'instances', `${name}.yaml`), `apiVersion: ringstack.dev/v1
kind: Instance
metadata:
  name: ${name}
  project: ${project}
  labels:
    app: app${i % 7}
    tier: ${i % 2 ? 'web' : 'db'}
spec:
  image: ${['debian-12', 'ubuntu-24', 'alpine-3'][i % 3]}
  flavor: ${flavor}
  networks:
    - network: net${ip}
  sshAuthorizedKeys:
    - ${KEY}
  userData: |
    #cloud-config
    hostname: ${name}${volume}${group}
`]);
    }
    await Promise.all(files.map(([f, c]) => writeFile(f, c)));
  }
  const hosts: SchedulerHost[] = [];
  for (let h = 0; h < size.hosts; h++) {
    hosts.push({ name: `host-${String(h).padStart(3, '0')}`, zone: ZONES[h % ZONES.length]!, vcpus: 32, memoryMiB: 262144, diskGiB: 6000, lastHeartbeat: 'NOW' });
  }
  return hosts;
}
