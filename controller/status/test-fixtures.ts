/**
 * A scripted installation for the status API's tests and bench: a compiled desired state with
 * projects, a shared image, one network per project and N instances spread over hosts, plus
 * each host's info and observed state, written into a `MemoryStateSource` (or any StateSource).
 */
import {
  CURRENT_DESIRED_KEY, STATE_FORMAT_VERSION, desiredKey, hostInfoKey, hostObservedKey,
  type DesiredInstance, type DesiredState, type HostInfo, type HostObservedState, type ObservedInstance,
} from '../../agents/contract/index.js';
import { REVISIONS_PREFIX, type RevisionRecord } from '../service/state-store.js';

export const REV1 = 'a'.repeat(40);
export const REV2 = 'b'.repeat(40);

export interface StackOptions {
  revision?: string;
  hosts?: string[];
  /** Instances per project. */
  instances?: Record<string, number>;
  /** Heartbeat time of the observed documents. */
  heartbeat?: Date;
}

export interface Stack {
  desired: DesiredState;
  infos: HostInfo[];
  observed: HostObservedState[];
}

export function buildStack(o: StackOptions = {}): Stack {
  const revision = o.revision ?? REV1;
  const hosts = o.hosts ?? ['hv1', 'hv2'];
  const perProject = o.instances ?? { demo: 3, other: 2 };
  const beat = (o.heartbeat ?? new Date()).toISOString();
  const d: DesiredState = {
    formatVersion: STATE_FORMAT_VERSION, kind: 'DesiredState', revision,
    networks: {}, images: {}, volumes: {}, instances: {},
    hosts: Object.fromEntries(hosts.map((h) => [h, { zone: 'default', vcpus: 64, memoryMiB: 262144, diskGiB: 4000, listed: true, revision, hash: `h-${h}` }])),
    placements: { instances: {}, volumes: {}, networks: {}, images: {} },
    unschedulable: {}, projects: {},
  };
  d.images['debian-12'] = {
    id: 'debian-12', name: 'debian-12', labels: {}, revision, hash: 'img', uuid: 'u-img', source: { bucket: 'images', key: 'debian-12.qcow2' },
    format: 'qcow2', sha256: 'f'.repeat(64), minDiskGiB: 1, minMemoryMiB: 128,
  };
  d.placements.images['debian-12'] = [...hosts];
  const observed: HostObservedState[] = hosts.map((h) => ({
    formatVersion: STATE_FORMAT_VERSION, kind: 'HostObservedState', host: h, heartbeat: beat, appliedRevision: revision, seenRevision: revision,
    totals: { vcpus: 64, memoryMiB: 262144, diskGiB: 4000, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0 },
    networks: {}, volumes: {}, instances: {},
    images: { 'debian-12': { id: 'debian-12', state: 'ACTIVE', appliedHash: 'img', appliedRevision: revision, updatedAt: beat, sizeBytes: 1048576, sha256: 'f'.repeat(64) } },
  }));
  const byHost = new Map(observed.map((ob) => [ob.host, ob]));
  let n = 0;
  for (const [project, count] of Object.entries(perProject)) {
    const net = `${project}/net`;
    d.networks[net] = { id: net, name: 'net', project, labels: {}, revision, hash: `n-${project}`, uuid: `u-${net}`, mode: 'nat', cidr: '10.0.0.0/24', bridge: 'rs0' };
    d.placements.networks[net] = [...hosts];
    d.projects[project] = {
      quotas: { instances: 100000, vcpus: 1000000, memoryMiB: 1e9, volumeGiB: 1e9, networks: 10 },
      usage: { instances: count, vcpus: count * 2, memoryMiB: count * 2048, volumeGiB: count * 10, networks: 1 },
    };
    for (const ob of observed) ob.networks[net] = { id: net, state: 'ACTIVE', active: true, appliedHash: `n-${project}`, updatedAt: beat };
    for (let i = 0; i < count; i++, n++) {
      const name = `vm-${String(i).padStart(5, '0')}`;
      const id = `${project}/${name}`;
      const host = hosts[n % hosts.length]!;
      const inst: DesiredInstance = {
        id, name, project, labels: { app: i % 2 === 0 ? 'web' : 'db', tier: 'x' }, revision, hash: `i-${id}`, uuid: `u-${id}`,
        hostname: name, powerState: 'Running', vcpus: 2, memoryMiB: 2048, diskGiB: 10, image: 'debian-12', flavor: 'm1.small',
        disks: [{ volume: `${id}/boot`, device: 'vda', bus: 'virtio' }], nics: [{ network: net, mac: '52:54:00:00:00:01', model: 'virtio' }],
        sshAuthorizedKeys: [],
      };
      d.instances[id] = inst;
      d.placements.instances[id] = host;
      d.volumes[`${id}/boot`] = { id: `${id}/boot`, name: 'boot', project, labels: {}, revision, hash: `v-${id}`, uuid: `u-v-${id}`, role: 'boot', format: 'qcow2', sizeGiB: 10, backingImage: 'debian-12', retainOnDelete: false, attachedTo: id };
      d.placements.volumes[`${id}/boot`] = host;
      const ob = byHost.get(host)!;
      const oi: ObservedInstance = {
        id, state: 'ACTIVE', libvirtState: 'running', appliedHash: inst.hash, appliedRevision: revision, updatedAt: beat,
        ips: [{ network: net, mac: '52:54:00:00:00:01', ip: `10.0.${Math.floor(n / 250)}.${(n % 250) + 2}` }], vcpus: 2, memoryMiB: 2048,
      };
      ob.instances[id] = oi;
      ob.volumes[`${id}/boot`] = { id: `${id}/boot`, state: 'ACTIVE', appliedHash: `v-${id}`, updatedAt: beat, capacityBytes: 10 * 2 ** 30 };
    }
  }
  const infos: HostInfo[] = hosts.map((h) => ({ formatVersion: STATE_FORMAT_VERSION, kind: 'HostInfo', host: h, zone: 'default', vcpus: 64, memoryMiB: 262144, diskGiB: 4000, agentVersion: 'test', startedAt: beat }));
  return { desired: d, infos, observed };
}

export interface Writable { put(key: string, value: unknown): void }

/** Writes the stack as the controller and agents would. */
export function writeStack(store: Writable, s: Stack, time = new Date()): void {
  store.put(desiredKey(s.desired.revision), s.desired);
  store.put(CURRENT_DESIRED_KEY, { formatVersion: STATE_FORMAT_VERSION, revision: s.desired.revision, time: time.toISOString() });
  for (const i of s.infos) store.put(hostInfoKey(i.host), i);
  for (const ob of s.observed) store.put(hostObservedKey(ob.host), ob);
}

export function revisionRecord(revision: string, status: 'accepted' | 'rejected', time: Date, errors: string[] = []): RevisionRecord {
  const iso = time.toISOString();
  return { revision, ref: 'refs/heads/main', status, errors, summary: [], checkedAt: iso, ...(status === 'accepted' ? { appliedAt: iso } : {}) };
}

export function revisionKeyOf(revision: string): string {
  return `${REVISIONS_PREFIX}${revision}.json`;
}
