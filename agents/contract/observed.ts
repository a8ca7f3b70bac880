/**
 * Observed state: what an agent writes back (`state/hosts/<host>/observed.json`) after each
 * pass, and what it writes once at start and on change (`state/hosts/<host>/info.json`).
 * The controller's status API compares it with the desired state.
 */
import type { Condition } from './conditions.js';

/** Nova-style public state of a resource. */
export type ResourceState = 'BUILD' | 'ACTIVE' | 'SHUTOFF' | 'ERROR' | 'DELETED';
/** virDomainState names as libvirt reports them. */
export type LibvirtDomainState =
  | 'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended';

export interface ObservedError {
  message: string;
  /** ISO 8601. */
  time: string;
  /** True when retrying cannot fix it (bad image checksum...). */
  permanent?: boolean;
}

interface ObservedBase {
  id: string;
  state: ResourceState;
  /** Desired `revision` and `hash` of the last spec applied successfully. */
  appliedRevision?: string;
  appliedHash?: string;
  lastError?: ObservedError;
  conditions?: Condition[];
  /** ISO 8601 time of the last change seen on the resource. */
  updatedAt: string;
}

export interface ObservedNetwork extends ObservedBase {
  active: boolean;
  bridge?: string;
}

export interface ObservedImage extends ObservedBase {
  sizeBytes?: number;
  /** sha256 computed on the bytes the host holds. */
  sha256?: string;
}

export interface ObservedVolume extends ObservedBase {
  capacityBytes?: number;
  allocationBytes?: number;
  path?: string;
}

export interface ObservedInstance extends ObservedBase {
  libvirtState: LibvirtDomainState;
  uuid?: string;
  ips: Array<{ network: string; mac: string; ip: string }>;
  /** Total guest CPU time in nanoseconds. */
  cpuTimeNs?: number;
  memoryMiB?: number;
  vcpus?: number;
}

export interface HostTotals {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  usedVcpus: number;
  usedMemoryMiB: number;
  usedDiskGiB: number;
}

/** `state/hosts/<host>/observed.json`. */
export interface HostObservedState {
  formatVersion: number;
  kind: 'HostObservedState';
  host: string;
  /** ISO 8601 time of this write; the controller treats a stale heartbeat as host down. */
  heartbeat: string;
  /** `revision` of the host desired state the agent last applied completely. */
  appliedRevision?: string;
  /** `revision` of the host desired state the agent last read. */
  seenRevision?: string;
  totals: HostTotals;
  networks: Record<string, ObservedNetwork>;
  images: Record<string, ObservedImage>;
  volumes: Record<string, ObservedVolume>;
  instances: Record<string, ObservedInstance>;
  lastError?: ObservedError;
  conditions?: Condition[];
}

/** `state/hosts/<host>/info.json`. */
export interface HostInfo {
  formatVersion: number;
  kind: 'HostInfo';
  host: string;
  zone: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  libvirtUri?: string;
  libvirtVersion?: string;
  agentVersion?: string;
  /** ISO 8601 time the agent started. */
  startedAt?: string;
}
