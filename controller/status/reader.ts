/**
 * The status API's view of the state bucket: one refresh reads the current revision and its
 * compiled state, every host's info and observed state, the revision records and the tail of
 * the event log. Refreshes are shared (at most one every `refreshMs`, concurrent callers wait
 * for the same one). Each part remembers its last good read: when the store fails, the old
 * data is kept and marked stale with its age, never presented as current; a part never read
 * has no data at all (routes answer 503).
 */
import {
  CURRENT_DESIRED_KEY, EVENTS_PREFIX, HOSTS_PREFIX, desiredKey, hostInfoKey, hostObservedKey, hostOfKey,
  type CurrentDesired, type DesiredState, type HostInfo, type HostObservedState,
} from '../../agents/contract/index.js';
import { REVISIONS_PREFIX, type RevisionRecord } from '../service/state-store.js';
import type { StatusMetrics } from './metrics.js';
import type { StateSource } from './source.js';

/** Default minimum time between two refreshes of the store. */
export const DEFAULT_REFRESH_MS = 1000;
/** Events kept in memory for lists, per-resource history and the stream. */
export const MAX_EVENTS = 2000;
/** Days of events read at start-up. */
const EVENT_DAYS_AT_START = 2;
const DAY_MS = 86_400_000;

/** An event as any writer records it (agents, controller). */
export interface StoredEvent {
  /** The key in the state bucket: unique and ordered by time (the stream's event id). */
  key: string;
  time: string;
  source?: string;
  host?: string;
  resourceKind?: string;
  resource?: string;
  action?: string;
  reason?: string;
  message?: string;
  result?: string;
  revision?: string;
}

/** Freshness of one part of the snapshot. */
export interface Freshness {
  /** Epoch ms of the last successful read; undefined when never read. */
  readAt?: number;
  stale: boolean;
  /** Why the last read failed. */
  error?: string;
}

export interface HostDocs {
  name: string;
  info?: HostInfo;
  observed?: HostObservedState;
  freshness: Freshness;
}

export interface Snapshot {
  /** Epoch ms the snapshot was assembled. */
  at: number;
  current?: CurrentDesired;
  desired?: DesiredState;
  hosts: HostDocs[];
  revisions: RevisionRecord[];
  events: StoredEvent[];
  /** Epoch ms the current revision was first seen converged by this reader. */
  convergedAt?: number;
  freshness: { desired: Freshness; hosts: Freshness; revisions: Freshness; events: Freshness };
}

export interface ReaderOptions {
  now?: () => number;
  refreshMs?: number;
  metrics?: StatusMetrics;
}

interface PartState<T> {
  value?: T;
  fresh: Freshness;
}

function fail<T>(p: PartState<T>, e: unknown): void {
  p.fresh = { ...(p.fresh.readAt !== undefined ? { readAt: p.fresh.readAt } : {}), stale: true, error: (e as Error).message ?? String(e) };
}

export class StatusReader {
  private readonly now: () => number;
  private readonly refreshMs: number;
  private desired: PartState<{ current?: CurrentDesired; desired?: DesiredState }> = { fresh: { stale: false } };
  private hostList: PartState<string[]> = { fresh: { stale: false } };
  private readonly hostDocs = new Map<string, HostDocs>();
  private revisions: PartState<Map<string, RevisionRecord>> = { fresh: { stale: false } };
  private eventsPart: PartState<StoredEvent[]> = { fresh: { stale: false } };
  private lastEventKey?: string;
  private convergence?: { revision: string; at?: number };
  private inflight?: Promise<Snapshot>;
  private last?: Snapshot;
  private lastRefresh = -Infinity;

  constructor(private readonly source: StateSource, private readonly o: ReaderOptions = {}) {
    this.now = o.now ?? Date.now;
    this.refreshMs = o.refreshMs ?? DEFAULT_REFRESH_MS;
  }

  /** The newest snapshot, refreshed when older than `refreshMs` (or always with `force`). */
  snapshot(force = false): Promise<Snapshot> {
    if (this.inflight) return this.inflight;
    if (!force && this.last && this.now() - this.lastRefresh < this.refreshMs) return Promise.resolve(this.last);
    this.inflight = this.refresh().finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      const v = await fn();
      this.o.metrics?.storeRequest(op, 'ok', Number(process.hrtime.bigint() - start) / 1e9);
      return v;
    } catch (e) {
      this.o.metrics?.storeRequest(op, 'error', Number(process.hrtime.bigint() - start) / 1e9);
      throw e;
    }
  }

  private async refresh(): Promise<Snapshot> {
    const started = this.now();
    await Promise.all([this.readDesired(), this.readHosts(), this.readRevisions(), this.readEvents()]);
    const snap: Snapshot = {
      at: this.now(),
      ...(this.desired.value?.current ? { current: this.desired.value.current } : {}),
      ...(this.desired.value?.desired ? { desired: this.desired.value.desired } : {}),
      hosts: [...this.hostDocs.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
      revisions: [...(this.revisions.value?.values() ?? [])].sort((a, b) => (a.checkedAt < b.checkedAt ? 1 : a.checkedAt > b.checkedAt ? -1 : 0)),
      events: this.eventsPart.value ?? [],
      freshness: { desired: this.desired.fresh, hosts: this.hostList.fresh, revisions: this.revisions.fresh, events: this.eventsPart.fresh },
    };
    this.trackConvergence(snap);
    if (this.convergence?.at !== undefined && this.convergence.revision === snap.current?.revision) snap.convergedAt = this.convergence.at;
    this.last = snap;
    this.lastRefresh = started;
    return snap;
  }

  private trackConvergence(s: Snapshot): void {
    const rev = s.current?.revision;
    if (!rev || !s.desired || s.desired.revision !== rev) return;
    if (this.convergence?.revision !== rev) this.convergence = { revision: rev };
    if (this.convergence.at !== undefined) return;
    if (isConverged(s)) this.convergence.at = s.at;
  }

  private async readDesired(): Promise<void> {
    try {
      const current = await this.timed('get', () => this.source.readJson<CurrentDesired>(CURRENT_DESIRED_KEY));
      const desired = current ? await this.timed('get', () => this.source.readJson<DesiredState>(desiredKey(current.revision))) : undefined;
      this.desired = { value: { ...(current ? { current } : {}), ...(desired ? { desired } : {}) }, fresh: { readAt: this.now(), stale: false } };
    } catch (e) {
      fail(this.desired, e);
    }
  }

  private async readHosts(): Promise<void> {
    let names: string[];
    try {
      const keys = await this.timed('list', () => this.source.listKeys(HOSTS_PREFIX));
      names = [...new Set(keys.filter((k) => { const h = hostOfKey(k); return h && k === hostInfoKey(h); }).map((k) => hostOfKey(k)!))];
      this.hostList = { value: names, fresh: { readAt: this.now(), stale: false } };
      for (const n of [...this.hostDocs.keys()]) if (!names.includes(n)) this.hostDocs.delete(n);
    } catch (e) {
      fail(this.hostList, e);
      names = this.hostList.value ?? [];
    }
    await Promise.all(names.map(async (name) => {
      const prev = this.hostDocs.get(name);
      try {
        const [info, observed] = await Promise.all([
          this.timed('get', () => this.source.readJson<HostInfo>(hostInfoKey(name))),
          this.timed('get', () => this.source.readJson<HostObservedState>(hostObservedKey(name))),
        ]);
        this.hostDocs.set(name, { name, ...(info ? { info } : {}), ...(observed ? { observed } : {}), freshness: { readAt: this.now(), stale: false } });
      } catch (e) {
        const fresh: Freshness = { ...(prev?.freshness.readAt !== undefined ? { readAt: prev.freshness.readAt } : {}), stale: true, error: (e as Error).message };
        this.hostDocs.set(name, { ...(prev ?? { name }), freshness: fresh });
      }
    }));
    // The hosts part is as old as its oldest host document, and stale when any host is.
    const docs = [...this.hostDocs.values()];
    const times = docs.map((h) => h.freshness.readAt).filter((x): x is number => x !== undefined);
    if (this.hostList.fresh.readAt !== undefined) times.push(this.hostList.fresh.readAt);
    const staleHost = docs.find((h) => h.freshness.stale);
    this.hostList.fresh = {
      ...(times.length ? { readAt: Math.min(...times) } : {}),
      stale: this.hostList.fresh.stale || !!staleHost,
      ...(this.hostList.fresh.error ? { error: this.hostList.fresh.error } : staleHost ? { error: `host ${staleHost.name}: ${staleHost.freshness.error}` } : {}),
    };
  }

  private async readRevisions(): Promise<void> {
    try {
      const keys = await this.timed('list', () => this.source.listKeys(REVISIONS_PREFIX));
      const known = this.revisions.value ?? new Map<string, RevisionRecord>();
      const current = this.desired.value?.current?.revision;
      const next = new Map<string, RevisionRecord>();
      await Promise.all(keys.map(async (k) => {
        const old = known.get(k);
        const rec = old && old.status === 'rejected' || (old && old.revision !== current && old.appliedAt)
          ? old : await this.timed('get', () => this.source.readJson<RevisionRecord>(k));
        if (rec) {
          if (!known.has(k) && rec.appliedAt) this.o.metrics?.revisionApplied(rec);
          next.set(k, rec);
        }
      }));
      this.revisions = { value: next, fresh: { readAt: this.now(), stale: false } };
    } catch (e) {
      fail(this.revisions, e);
    }
  }

  private async readEvents(): Promise<void> {
    try {
      const first = this.lastEventKey === undefined;
      const after = this.lastEventKey ?? `${EVENTS_PREFIX}${new Date(this.now() - EVENT_DAYS_AT_START * DAY_MS).toISOString().slice(0, 10)}`;
      let keys = await this.timed('list', () => this.source.listKeys(EVENTS_PREFIX, after));
      if (first) keys = keys.slice(-MAX_EVENTS);
      const read = await Promise.all(keys.map(async (key) => {
        try {
          const e = await this.timed('get', () => this.source.readJson<Omit<StoredEvent, 'key'>>(key));
          return e ? { ...e, key } : undefined;
        } catch {
          return undefined; // one unreadable event does not hold up the others
        }
      }));
      const events = [...(this.eventsPart.value ?? []), ...read.filter((e): e is StoredEvent => !!e)];
      if (keys.length) this.lastEventKey = keys[keys.length - 1];
      this.eventsPart = { value: events.slice(-MAX_EVENTS), fresh: { readAt: this.now(), stale: false } };
    } catch (e) {
      fail(this.eventsPart, e);
    }
  }
}

/** Every host with a share of the current revision has applied its share, and all is placed. */
export function isConverged(s: Snapshot): boolean {
  if (!s.desired) return false;
  if (Object.keys(s.desired.unschedulable).length > 0) return false;
  const p = s.desired.placements;
  const placed = new Set<string>([...Object.values(p.instances), ...Object.values(p.volumes)]);
  for (const hs of [...Object.values(p.networks), ...Object.values(p.images)]) for (const h of hs) placed.add(h);
  for (const host of placed) {
    const want = s.desired.hosts[host]?.revision;
    const obs = s.hosts.find((d) => d.name === host)?.observed;
    if (!want || obs?.appliedRevision !== want) return false;
  }
  return true;
}
