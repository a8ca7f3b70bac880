/**
 * Desired state: what the controller compiles from one commit, and the only thing agents read.
 *
 * Two documents, both written with canonical JSON (sorted keys):
 * - `DesiredState` (`state/desired/<commit>.json`): every resource of the commit, where each
 *   runs (placements) and what could not be placed (unschedulable).
 * - `HostDesiredState` (`state/hosts/<host>/desired.json`): the subset one host must run.
 *
 * Resource ids: `<project>/<name>` for project resources, `<name>` for shared images, flavors
 * and networks (manifests without metadata.project), `<project>/<instance>/boot` for the boot
 * disk of an instance. Names never contain '/', so ids are unambiguous.
 *
 * Every resource carries `revision` (the commit that last changed its content) and `hash`
 * (sha256 prefix of its canonical content without revision and hash): an agent compares the
 * hash it applied with the desired hash to know whether work is left. Placement is not part of
 * a resource's content; it lives in `DesiredState.placements` and in which host file lists it.
 */
import type { Condition } from './conditions.js';

/** Version of the state documents; an agent refuses a version it does not know. */
export const STATE_FORMAT_VERSION = 1;

export type NetworkMode = 'nat' | 'isolated' | 'bridge';
export type ImageFormat = 'qcow2' | 'raw';
export type PowerState = 'Running' | 'Stopped';

interface ResourceBase {
  /** Stable id, see the module comment. */
  id: string;
  name: string;
  /** Absent for shared resources. */
  project?: string;
  /** metadata.labels of the manifest. */
  labels: Record<string, string>;
  /** The commit that last changed this resource's content. */
  revision: string;
  /** First 32 hex digits of sha256 of the canonical content without `revision` and `hash`. */
  hash: string;
}

export interface DesiredNetwork extends ResourceBase {
  /** Deterministic libvirt UUID. */
  uuid: string;
  mode: NetworkMode;
  /** IPv4 CIDR; absent only for bridge networks whose subnet is not managed. */
  cidr?: string;
  /** Address of the host on the network (nat/isolated) or the router (bridge). */
  gateway?: string;
  prefixLength?: number;
  /** Dynamic DHCP range served by libvirt (nat/isolated). Fixed IPs come from instance NICs. */
  dhcp?: { start: string; end: string };
  /** Bridge device: the existing host bridge (bridge mode) or the one libvirt creates (`rs` + 8 hex). */
  bridge: string;
  /** Zones where the network exists; absent means every zone. */
  zones?: string[];
}

export interface DesiredImage extends ResourceBase {
  uuid: string;
  /** Where the agent downloads the bytes from (S3 API of the store). */
  source: { bucket: string; key: string };
  format: ImageFormat;
  /** sha256 of the image bytes, 64 lowercase hex; the agent verifies it before use. */
  sha256: string;
  minDiskGiB: number;
  minMemoryMiB: number;
}

export interface DesiredVolume extends ResourceBase {
  uuid: string;
  /** `boot`: the instance's root disk (qcow2 overlay on its image); `data`: a Volume manifest. */
  role: 'boot' | 'data';
  /** Always qcow2 (overlays and empty volumes). */
  format: 'qcow2';
  sizeGiB: number;
  /** Image id the volume is backed by (boot disks, data volumes with sourceImage). */
  backingImage?: string;
  /** Keep the data when the manifest or its instance goes away. */
  retainOnDelete: boolean;
  /** Instance id using this volume, if any. */
  attachedTo?: string;
}

export interface DesiredNic {
  /** Network id. */
  network: string;
  /** Stable MAC (from the manifest, else derived from the instance id and NIC index). */
  mac: string;
  /** Fixed IPv4 address from the manifest; absent means DHCP from the network's range. */
  ip?: string;
  model: 'virtio';
}

export interface DesiredDisk {
  /** Volume id. */
  volume: string;
  /** Guest device: vda is the boot disk, then vdb, vdc... in manifest order. */
  device: string;
  bus: 'virtio';
}

export interface DesiredInstance extends ResourceBase {
  uuid: string;
  /** Guest hostname (the manifest name). */
  hostname: string;
  powerState: PowerState;
  vcpus: number;
  memoryMiB: number;
  /** Size of the boot disk. */
  diskGiB: number;
  /** Image id of the boot disk. */
  image: string;
  /** Flavor id when the size came from a flavor. */
  flavor?: string;
  disks: DesiredDisk[];
  nics: DesiredNic[];
  /** cloud-init user-data, verbatim. */
  userData?: string;
  sshAuthorizedKeys: string[];
  antiAffinityGroup?: string;
}

/** The resources of one scope (a revision or a host), each kind a map from id. */
export interface DesiredResources {
  networks: Record<string, DesiredNetwork>;
  images: Record<string, DesiredImage>;
  volumes: Record<string, DesiredVolume>;
  instances: Record<string, DesiredInstance>;
}

export type DesiredKind = keyof DesiredResources;
/** Apply order (create/update); deletes run in reverse. */
export const APPLY_ORDER: readonly DesiredKind[] = ['networks', 'images', 'volumes', 'instances'];

export interface UnschedulableInstance {
  instance: string;
  /** e.g. `no host with 8 free vcpus in zone b`. */
  message: string;
  condition: Condition;
}

export interface ProjectUsage {
  quotas: { instances: number; vcpus: number; memoryMiB: number; volumeGiB: number; networks: number };
  usage: { instances: number; vcpus: number; memoryMiB: number; volumeGiB: number; networks: number };
}

/** `state/desired/<commit>.json`. */
export interface DesiredState extends DesiredResources {
  formatVersion: number;
  kind: 'DesiredState';
  revision: string;
  /**
   * Hosts at compile time: capacity, whether the host was in the scheduler's host list (false
   * for a vanished host still holding resources during its grace period), and the `revision`
   * and `hash` of its HostDesiredState (the next compile keeps the revision when the hash is equal).
   */
  hosts: Record<string, {
    zone: string; vcpus: number; memoryMiB: number; diskGiB: number; listed: boolean; revision: string; hash: string;
  }>;
  placements: {
    /** instance id -> host. */
    instances: Record<string, string>;
    /** volume id -> host (attached volumes follow their instance; detached ones stay). */
    volumes: Record<string, string>;
    /** network id -> hosts that need it, sorted. */
    networks: Record<string, string[]>;
    /** image id -> hosts that need it, sorted. */
    images: Record<string, string[]>;
  };
  unschedulable: Record<string, UnschedulableInstance>;
  projects: Record<string, ProjectUsage>;
}

/** `state/hosts/<host>/desired.json`. */
export interface HostDesiredState extends DesiredResources {
  formatVersion: number;
  kind: 'HostDesiredState';
  host: string;
  zone: string;
  /** The commit that last changed this host's content (unchanged hosts keep their bytes). */
  revision: string;
  /** Hash of the content without revision and hash. */
  hash: string;
}

/** `state/desired/current.json`. */
export interface CurrentDesired {
  formatVersion: number;
  revision: string;
  /** ISO 8601 time the controller switched to this revision. */
  time: string;
}
