/**
 * Desired-state builders for the agent's tests and bench: a NAT network, an image (with its
 * bytes), instances with their boot volumes and optional data volumes, stamped with `hash`
 * the way the controller stamps them (sha256 of the canonical content), so a changed field
 * gives a changed hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '../contract/canonical-json.js';
import {
  STATE_FORMAT_VERSION, type DesiredImage, type DesiredInstance, type DesiredNetwork, type DesiredVolume, type HostDesiredState,
} from '../contract/desired.js';

function stamp<T extends { hash: string; revision: string }>(body: Omit<T, 'hash' | 'revision'>, revision: string): T {
  const hash = createHash('sha256').update(canonicalJson(body)).digest('hex').slice(0, 32);
  return { ...body, hash, revision } as T;
}

function uuidOf(kind: string, id: string): string {
  const h = createHash('sha256').update(`${kind}\0${id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A minimal qcow2 header (magic, version 3, virtual size) followed by random bytes. */
export function fakeQcow2(virtualBytes: number, extraBytes = 4096): Buffer {
  const b = Buffer.alloc(512 + extraBytes);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(3, 4);
  b.writeBigUInt64BE(BigInt(virtualBytes), 24);
  randomBytes(extraBytes).copy(b, 512);
  return b;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface NetworkOpts {
  name?: string;
  mode?: DesiredNetwork['mode'];
  /** Third octet of 10.x.y.0/24 (and the second). */
  subnet?: [number, number];
  bridge?: string;
}

export function network(opts: NetworkOpts = {}, revision = 'r1'): DesiredNetwork {
  const name = opts.name ?? 'net';
  const [a, b] = opts.subnet ?? [77, 1];
  const id = `demo/${name}`;
  return stamp<DesiredNetwork>({
    id, name, project: 'demo', labels: {}, uuid: uuidOf('network', id), mode: opts.mode ?? 'nat',
    cidr: `10.${a}.${b}.0/24`, gateway: `10.${a}.${b}.1`, prefixLength: 24,
    dhcp: { start: `10.${a}.${b}.100`, end: `10.${a}.${b}.199` },
    bridge: opts.bridge ?? `rs${createHash('sha1').update(id).digest('hex').slice(0, 8)}`,
  }, revision);
}

export function image(bytes: Buffer, opts: { name?: string; format?: 'qcow2' | 'raw'; sha256?: string; key?: string } = {}, revision = 'r1'): DesiredImage {
  const name = opts.name ?? 'tiny';
  return stamp<DesiredImage>({
    id: name, name, labels: {}, uuid: uuidOf('image', name), source: { bucket: 'images', key: opts.key ?? `${name}.qcow2` },
    format: opts.format ?? 'qcow2', sha256: opts.sha256 ?? sha256Hex(bytes), minDiskGiB: 1, minMemoryMiB: 32,
  }, revision);
}

export interface InstanceOpts {
  name: string;
  vcpus?: number;
  memoryMiB?: number;
  diskGiB?: number;
  powerState?: 'Running' | 'Stopped';
  ip?: string;
  mac?: string;
  userData?: string;
  /** Data volumes: name -> size GiB. */
  dataVolumes?: Array<{ name: string; sizeGiB: number; retainOnDelete?: boolean }>;
}

export function macOf(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `52:54:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

/** An instance and its volumes (boot disk first). */
export function instance(opts: InstanceOpts, net: DesiredNetwork, img: DesiredImage, revision = 'r1'): { instance: DesiredInstance; volumes: DesiredVolume[] } {
  const id = `demo/${opts.name}`;
  const bootId = `${id}/boot`;
  const diskGiB = opts.diskGiB ?? 1;
  const volumes: DesiredVolume[] = [stamp<DesiredVolume>({
    id: bootId, name: `${opts.name}.boot`, project: 'demo', labels: {}, uuid: uuidOf('volume', bootId), role: 'boot', format: 'qcow2',
    sizeGiB: diskGiB, backingImage: img.id, retainOnDelete: false, attachedTo: id,
  }, revision)];
  for (const v of opts.dataVolumes ?? []) {
    const vid = `demo/${v.name}`;
    volumes.push(stamp<DesiredVolume>({
      id: vid, name: v.name, project: 'demo', labels: {}, uuid: uuidOf('volume', vid), role: 'data', format: 'qcow2',
      sizeGiB: v.sizeGiB, retainOnDelete: v.retainOnDelete ?? false, attachedTo: id,
    }, revision));
  }
  const letters = 'abcdefghij';
  const inst = stamp<DesiredInstance>({
    id, name: opts.name, project: 'demo', labels: {}, uuid: uuidOf('instance', id), hostname: opts.name,
    powerState: opts.powerState ?? 'Running', vcpus: opts.vcpus ?? 1, memoryMiB: opts.memoryMiB ?? 64, diskGiB, image: img.id,
    disks: volumes.map((v, i) => ({ volume: v.id, device: `vd${letters[i]}`, bus: 'virtio' as const })),
    nics: [{ network: net.id, mac: opts.mac ?? macOf(id), ...(opts.ip ? { ip: opts.ip } : {}), model: 'virtio' as const }],
    ...(opts.userData !== undefined ? { userData: opts.userData } : {}),
    sshAuthorizedKeys: [],
  }, revision);
  return { instance: inst, volumes };
}

/** A host desired state from parts. */
export function hostDesired(host: string, parts: {
  networks?: DesiredNetwork[]; images?: DesiredImage[]; instances?: Array<{ instance: DesiredInstance; volumes: DesiredVolume[] }>;
  volumes?: DesiredVolume[];
}, revision = 'r1'): HostDesiredState {
  const byId = <T extends { id: string }>(xs: T[]) => Object.fromEntries(xs.map((x) => [x.id, x]));
  const instances = parts.instances ?? [];
  const body = {
    formatVersion: STATE_FORMAT_VERSION,
    kind: 'HostDesiredState' as const,
    host,
    zone: 'z1',
    networks: byId(parts.networks ?? []),
    images: byId(parts.images ?? []),
    volumes: byId([...instances.flatMap((i) => i.volumes), ...(parts.volumes ?? [])]),
    instances: byId(instances.map((i) => i.instance)),
  };
  return { ...body, revision, hash: createHash('sha256').update(canonicalJson(body)).digest('hex').slice(0, 32) };
}
