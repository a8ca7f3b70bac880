/**
 * What one reconcile pass shares between the per-kind reconcile functions: the hypervisor,
 * the desired state, a snapshot of what libvirt holds, which resources became ready (their
 * libvirt names and paths, for the kinds applied after them), the observed state being built,
 * and `attempt`, which runs one resource's reconcile step with per-resource backoff and turns
 * its failure into an ERROR entry with the reason.
 */
import type { Condition, ConditionType } from '../contract/conditions.js';
import type { HostDesiredState } from '../contract/desired.js';
import type {
  HostObservedState, ObservedError, ObservedImage, ObservedInstance, ObservedNetwork, ObservedVolume, ResourceState,
} from '../contract/observed.js';
import { ConnectionLostError } from '../hypervisor/errors.js';
import type { DhcpLease, DomainInfo, Hypervisor, NetworkInfo, PoolInfo, VolumeInfo } from '../hypervisor/hypervisor.js';
import type { Backoff } from './backoff.js';
import { DependencyNotReadyError, reasonOf } from './errors.js';
import type { EventInput, EventLog } from './events.js';
import type { HostLinks } from './host-links.js';
import type { Naming } from './naming.js';
import type { LocalRecord } from './record.js';
import type { AgentStore } from './store.js';

export type ObservedKind = 'networks' | 'images' | 'volumes' | 'instances';

export interface ObservedMaps {
  networks: Record<string, ObservedNetwork>;
  images: Record<string, ObservedImage>;
  volumes: Record<string, ObservedVolume>;
  instances: Record<string, ObservedInstance>;
}

/** What libvirt holds at the start of a pass (names are libvirt names). */
export interface Snapshot {
  networks: Map<string, NetworkInfo>;
  pools: Map<string, PoolInfo>;
  /** Volumes of the image pool. */
  images: Map<string, VolumeInfo>;
  /** Volumes of the volume pool (disks and seeds). */
  volumes: Map<string, VolumeInfo>;
  domains: Map<string, DomainInfo>;
}

export interface ReadyImage {
  path: string;
  format: 'qcow2' | 'raw';
  capacityBytes: number;
}

export interface PassSettings {
  /** Absolute folder under which the pools live. */
  dataDir: string;
  /** Grace period of a guest shutdown before power-off. */
  shutdownTimeoutMs: number;
  /** How long a deleted resource stays in observed state as DELETED. */
  deletedRetentionMs: number;
  /** Instances reconciled (or deleted) at the same time. */
  instanceConcurrency: number;
  /** The host's network devices (leftover bridges); the kernel's when absent. */
  hostLinks?: HostLinks;
}

/** Outcome of one attempt: the value, or the error (`skipped` when backoff held it back). */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: ObservedError; skipped: boolean };

export class PassContext {
  readonly ready = {
    pools: false,
    networks: new Map<string, string>(),
    images: new Map<string, ReadyImage>(),
    volumes: new Map<string, VolumeInfo>(),
  };
  readonly observed: ObservedMaps = { networks: {}, images: {}, volumes: {}, instances: {} };
  /** Host-level problems (pools, deletes) met during the pass. */
  readonly hostErrors: Array<{ reason: string; message: string }> = [];
  /** Resources left in ERROR (or waiting for a retry). */
  failed = 0;
  /** Seed volume names in use by desired instances. */
  readonly wantedSeeds = new Set<string>();
  private readonly leaseCache = new Map<string, Promise<DhcpLease[]>>();

  constructor(
    readonly hv: Hypervisor,
    readonly desired: HostDesiredState,
    readonly snapshot: Snapshot,
    readonly naming: Naming,
    readonly store: AgentStore,
    readonly record: LocalRecord,
    readonly backoff: Backoff,
    readonly events: EventLog,
    readonly settings: PassSettings,
    readonly previous: HostObservedState | undefined,
    readonly now: () => Date,
  ) {}

  event(input: Omit<EventInput, 'revision'>): void {
    this.events.add({ ...input, revision: this.desired.revision });
  }

  /**
   * Runs `fn` for one resource unless its backoff holds it back. A failure becomes an ERROR
   * entry in observed state and schedules the next attempt; ConnectionLostError ends the pass.
   */
  async attempt<T>(kind: ObservedKind, res: { id: string; hash: string; revision: string }, fn: () => Promise<T>): Promise<Attempt<T>> {
    const key = `${kind}/${res.id}`;
    const nowMs = this.now().getTime();
    const previous = this.previous?.[kind][res.id];
    if (this.backoff.waitMs(key, res.hash, nowMs) > 0 && previous?.lastError) {
      this.failed++;
      (this.observed[kind] as Record<string, unknown>)[res.id] = previous;
      return { ok: false, error: previous.lastError, skipped: true };
    }
    try {
      const value = await fn();
      this.backoff.succeed(key);
      return { ok: true, value };
    } catch (err) {
      if (err instanceof ConnectionLostError) throw err;
      const { reason, permanent } = reasonOf(err);
      const message = (err as Error).message;
      // Waiting for a dependency costs nothing to re-check: no backoff, so a resource follows
      // its dependency in the same pass the dependency becomes ready.
      const delay = err instanceof DependencyNotReadyError ? 0 : this.backoff.fail(key, res.hash, nowMs);
      const error: ObservedError = { message, time: this.now().toISOString(), ...(permanent ? { permanent } : {}) };
      this.failed++;
      // Ready=False, and Stalled (retrying cannot help) or Degraded (retried with backoff) with the reason.
      const conditions = [
        this.condition(kind, res.id, 'Ready', 'False', reason, message),
        this.condition(kind, res.id, permanent ? 'Stalled' : 'Degraded', 'True', reason, message),
      ];
      const entry = this.entry(kind, res.id, 'ERROR', { lastError: error, conditions });
      (this.observed[kind] as Record<string, unknown>)[res.id] = { ...this.errorExtras(kind, res.id), ...entry };
      if (previous?.lastError?.message !== message) {
        const next = delay > 0 ? ` (next attempt in ${Math.round(delay / 1000)} s)` : '';
        this.event({ resourceKind: kind, resource: res.id, action: 'failed', reason, message: `${message}${next}`, result: 'error' });
      }
      return { ok: false, error, skipped: false };
    }
  }

  /** Extra fields a kind needs even in ERROR (instances: libvirtState, ips). */
  private errorExtras(kind: ObservedKind, id: string): Record<string, unknown> {
    if (kind === 'networks') return { active: false };
    if (kind === 'instances') {
      const inst = this.desired.instances[id];
      const dom = inst ? this.snapshot.domains.get(this.naming.domain(inst.id, inst.name)) : undefined;
      return { libvirtState: dom?.state ?? 'nostate', ips: [], ...(dom ? { uuid: dom.uuid } : {}) };
    }
    return {};
  }

  /** Common fields of an observed entry; `updatedAt` stays while the state stays. */
  entry(kind: ObservedKind, id: string, state: ResourceState, extra: { lastError?: ObservedError; conditions?: Condition[] } = {}) {
    const prev = this.previous?.[kind][id];
    const now = this.now().toISOString();
    return {
      id,
      state,
      updatedAt: prev && prev.state === state ? prev.updatedAt : now,
      ...(prev?.appliedRevision ? { appliedRevision: prev.appliedRevision, appliedHash: prev.appliedHash } : {}),
      ...extra,
    };
  }

  /** An entry for a resource applied successfully (Ready=True, applied revision and hash). */
  applied(kind: ObservedKind, res: { id: string; hash: string; revision: string }, state: ResourceState) {
    return {
      ...this.entry(kind, res.id, state),
      appliedRevision: res.revision,
      appliedHash: res.hash,
      conditions: [this.condition(kind, res.id, 'Ready', 'True', 'Reconciled', `applied revision ${res.revision}`)],
    };
  }

  condition(kind: ObservedKind, id: string, type: ConditionType, status: Condition['status'], reason: string, message: string): Condition {
    const prev = this.previous?.[kind][id]?.conditions?.find((c) => c.type === type);
    const now = this.now().toISOString();
    return {
      type, status, reason, message, observedRevision: this.desired.revision,
      lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
    };
  }

  /** DHCP leases of a network, read once per pass (none where the driver cannot report them). */
  leases(network: string): Promise<DhcpLease[]> {
    let p = this.leaseCache.get(network);
    if (!p) {
      p = this.hv.dhcpLeases(network).catch((err) => {
        if (err instanceof ConnectionLostError) throw err;
        return [];
      });
      this.leaseCache.set(network, p);
    }
    return p;
  }

  hostError(reason: string, message: string): void {
    this.hostErrors.push({ reason, message });
  }
}
