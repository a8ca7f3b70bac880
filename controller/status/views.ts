/**
 * Turns a snapshot of the state bucket into what the API shows: one view per host, instance,
 * network, volume, image, project and revision, with desired against observed and conditions.
 * Pure functions of the snapshot and the time, built once per snapshot and cached.
 */
import type { Condition } from '../../agents/contract/conditions.js';
import type { DesiredState } from '../../agents/contract/desired.js';
import type { HostObservedState } from '../../agents/contract/observed.js';
import { computeConditions, summaryOf, type HostHealth } from './conditions.js';
import { isConverged, type Snapshot, type StoredEvent } from './reader.js';

/** Events attached to one resource view. */
export const RECENT_EVENTS = 10;

export interface HealthOptions {
  heartbeatTimeoutSeconds: number;
  gracePeriodSeconds: number;
}

export interface HostView {
  name: string; zone: string; health: HostHealth; heartbeat: string | null; heartbeatAgeSeconds: number | null;
  capacity: { vcpus: number; memoryMiB: number; diskGiB: number };
  allocation: { vcpus: number; memoryMiB: number; diskGiB: number; instances: number };
  appliedRevision: string | null; seenRevision: string | null; agentVersion: string | null; libvirtVersion: string | null;
  lastError: string | null; stale: boolean;
}

export interface ResourceView {
  id: string; kind: string; name: string; project: string | null; labels: Record<string, string>;
  state: string; summary: string; hosts: string[]; conditions: Condition[];
  desired: unknown; observed: Record<string, unknown>; events: StoredEvent[]; stale: boolean;
  /** Instances: */ host?: string | null; ips?: Array<{ network: string; mac: string; ip: string }>; flavor?: string | null;
  /** Images: */ status?: string; sizeBytes?: number | null; sha256?: string;
}

export interface Views {
  hosts: HostView[];
  instances: ResourceView[];
  networks: ResourceView[];
  volumes: ResourceView[];
  images: ResourceView[];
  projects: Array<{ name: string; quotas: Record<string, number>; usage: Record<string, number> }>;
  revisions: Array<{ revision: string; ref: string; status: string; errors: string[]; summary: string[]; checkedAt: string; appliedAt: string | null; current: boolean; converged: boolean | null; convergedAt: string | null }>;
}

export type ResourceKind = 'instances' | 'networks' | 'volumes' | 'images';
export const RESOURCE_KINDS: ResourceKind[] = ['instances', 'networks', 'volumes', 'images'];

export function hostHealth(heartbeat: string | undefined, now: number, o: HealthOptions): HostHealth {
  const t = heartbeat ? Date.parse(heartbeat) : NaN;
  if (Number.isNaN(t)) return 'down';
  const age = (now - t) / 1000;
  if (age <= o.heartbeatTimeoutSeconds) return 'up';
  return age <= o.gracePeriodSeconds ? 'stale' : 'down';
}

function projectOf(id: string): string | null {
  const slash = id.indexOf('/');
  return slash > 0 ? id.slice(0, slash) : null;
}

export function buildViews(s: Snapshot, now: number, o: HealthOptions): Views {
  const d: DesiredState | undefined = s.desired;
  const rev = s.current?.revision ?? '';
  const nowIso = new Date(now).toISOString();
  const observedBy = new Map<string, HostObservedState>();
  const health = new Map<string, HostHealth>();
  const staleHost = new Set<string>();
  for (const h of s.hosts) {
    if (h.observed) observedBy.set(h.name, h.observed);
    health.set(h.name, hostHealth(h.observed?.heartbeat ?? h.info?.startedAt, now, o));
    if (h.freshness.stale) staleHost.add(h.name);
  }
  const eventsBy = new Map<string, StoredEvent[]>();
  for (const e of s.events) {
    if (!e.resource) continue;
    const list = eventsBy.get(e.resource) ?? [];
    list.push(e);
    eventsBy.set(e.resource, list);
  }
  const recent = (id: string) => (eventsBy.get(id) ?? []).slice(-RECENT_EVENTS).reverse();

  const alloc = new Map<string, HostView['allocation']>();
  if (d) {
    for (const [id, host] of Object.entries(d.placements.instances)) {
      const i = d.instances[id];
      if (!i) continue;
      const a = alloc.get(host) ?? { vcpus: 0, memoryMiB: 0, diskGiB: 0, instances: 0 };
      a.vcpus += i.vcpus; a.memoryMiB += i.memoryMiB; a.diskGiB += i.diskGiB; a.instances++;
      alloc.set(host, a);
    }
  }
  const hosts: HostView[] = s.hosts.map((h) => {
    const beat = h.observed?.heartbeat ?? null;
    const t = beat ? Date.parse(beat) : NaN;
    return {
      name: h.name, zone: h.info?.zone ?? 'default', health: health.get(h.name)!,
      heartbeat: beat, heartbeatAgeSeconds: Number.isNaN(t) ? null : Math.max(0, Math.round((now - t) / 1000)),
      capacity: { vcpus: h.info?.vcpus ?? 0, memoryMiB: h.info?.memoryMiB ?? 0, diskGiB: h.info?.diskGiB ?? 0 },
      allocation: alloc.get(h.name) ?? { vcpus: 0, memoryMiB: 0, diskGiB: 0, instances: 0 },
      appliedRevision: h.observed?.appliedRevision ?? null, seenRevision: h.observed?.seenRevision ?? null,
      agentVersion: h.info?.agentVersion ?? null, libvirtVersion: h.info?.libvirtVersion ?? null,
      lastError: h.observed?.lastError?.message ?? null, stale: h.freshness.stale,
    };
  });

  function resources(kind: ResourceKind): ResourceView[] {
    const out: ResourceView[] = [];
    const desired = (d?.[kind] ?? {}) as Record<string, { id: string; name: string; project?: string; labels: Record<string, string>; hash: string; revision: string; powerState?: 'Running' | 'Stopped' }>;
    const placement = (id: string): string[] => {
      if (!d) return [];
      if (kind === 'instances') return d.placements.instances[id] ? [d.placements.instances[id]!] : [];
      if (kind === 'volumes') return d.placements.volumes[id] ? [d.placements.volumes[id]!] : [];
      return d.placements[kind][id] ?? [];
    };
    const seen = new Set<string>();
    const view = (id: string, want: (typeof desired)[string] | undefined): ResourceView => {
      const hostsOf = want ? placement(id) : [...observedBy.entries()].filter(([, ob]) => ob[kind][id]).map(([h]) => h);
      const observed: Record<string, any> = {};
      for (const h of hostsOf) { const ob = observedBy.get(h)?.[kind][id]; if (ob) observed[h] = ob; }
      const un = kind === 'instances' ? d?.unschedulable[id] : undefined;
      // One condition set per host; the resource shows the worst host (first not Ready).
      const perHost = (hostsOf.length ? hostsOf : [undefined]).map((h) => computeConditions({
        ...(want ? { desired: want } : {}), ...(h && observed[h] ? { observed: observed[h] } : {}),
        ...(h ? { host: h, hostHealth: health.get(h) ?? 'down' } : {}),
        ...(un ? { unschedulable: { message: un.message, reason: un.condition?.reason } } : {}),
        revision: rev, now: nowIso,
      }));
      const conditions = perHost.find((c) => summaryOf(c) !== 'Ready') ?? perHost[0]!;
      const states = Object.values(observed).map((x) => x.state as string);
      const state = states.find((x) => x === 'ERROR') ?? states.find((x) => x === 'BUILD') ?? states[0] ?? (un ? 'UNSCHEDULABLE' : 'PENDING');
      const v: ResourceView = {
        id, kind, name: want?.name ?? id.slice(id.lastIndexOf('/') + 1), project: want ? want.project ?? null : projectOf(id),
        labels: want?.labels ?? {}, state, summary: summaryOf(conditions), hosts: hostsOf, conditions,
        desired: want ?? null, observed, events: recent(id), stale: hostsOf.some((h) => staleHost.has(h)),
      };
      if (kind === 'instances') {
        const ob = Object.values(observed)[0];
        v.host = hostsOf[0] ?? null;
        v.ips = ob?.ips ?? [];
        v.flavor = (want as { flavor?: string } | undefined)?.flavor ?? null;
      }
      if (kind === 'images') {
        v.status = states.includes('ERROR') ? 'error' : hostsOf.length > 0 && states.length === hostsOf.length && states.every((x) => x === 'ACTIVE') ? 'active' : 'queued';
        v.sizeBytes = Object.values(observed).find((x) => typeof x.sizeBytes === 'number')?.sizeBytes ?? null;
        v.sha256 = (want as { sha256?: string } | undefined)?.sha256 ?? Object.values(observed).find((x) => x.sha256)?.sha256;
      }
      return v;
    };
    for (const [id, want] of Object.entries(desired)) { seen.add(id); out.push(view(id, want)); }
    for (const ob of observedBy.values()) {
      for (const id of Object.keys(ob[kind])) {
        if (seen.has(id) || ob[kind][id]!.state === 'DELETED') continue;
        seen.add(id);
        out.push(view(id, undefined));
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  const converged = isConverged(s);
  // Each kind is built on first use: a request for instances does not pay for volumes.
  const built = new Map<ResourceKind, ResourceView[]>();
  const kind = (k: ResourceKind) => { let v = built.get(k); if (!v) { v = resources(k); built.set(k, v); } return v; };
  return {
    hosts,
    get instances() { return kind('instances'); },
    get networks() { return kind('networks'); },
    get volumes() { return kind('volumes'); },
    get images() { return kind('images'); },
    projects: Object.entries(d?.projects ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, p]) => ({ name, quotas: { ...p.quotas }, usage: { ...p.usage } })),
    revisions: s.revisions.map((r) => {
      const current = r.revision === rev;
      return {
        revision: r.revision, ref: r.ref, status: r.status, errors: r.errors, summary: r.summary, checkedAt: r.checkedAt,
        appliedAt: r.appliedAt ?? null, current,
        converged: current ? converged : r.status === 'rejected' ? false : null,
        convergedAt: current && s.convergedAt !== undefined ? new Date(s.convergedAt).toISOString() : null,
      };
    }),
  };
}
