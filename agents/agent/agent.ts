/**
 * The host agent: keeps one libvirt host converged to `state/hosts/<host>/desired.json`.
 *
 * - Registers the host (info.json: vcpus, memory, disk of the volume pool, zone, versions).
 * - Every poll interval: reads desired.json with If-None-Match (a 304 when unchanged), runs one
 *   reconcile pass against libvirt (so drift is repaired within one interval) and writes
 *   observed.json with the heartbeat time; events are written after the pass.
 * - libvirt lifecycle events (a domain stopped or undefined by someone else) start a pass at
 *   once; every resync interval the desired state is read unconditionally.
 * - A desired state in an unknown formatVersion (or for another host) is not applied; the
 *   error is reported in observed state. A missing desired.json changes nothing on the host.
 * - A lost libvirt connection is reported, then re-opened with exponential backoff, followed
 *   by a full resync.
 */
import { STATE_FORMAT_VERSION, type HostDesiredState } from '../contract/desired.js';
import type { Condition } from '../contract/conditions.js';
import type { HostInfo, HostObservedState, ObservedError } from '../contract/observed.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import { ConnectionLostError } from '../hypervisor/errors.js';
import { Backoff } from './backoff.js';
import { AgentError, reasonOf, UnsupportedFormatVersionError, WrongHostError } from './errors.js';
import { EventLog } from './events.js';
import type { HostLinks } from './host-links.js';
import { Naming } from './naming.js';
import { runPass, type PassResult } from './pass.js';
import { statfs } from 'node:fs/promises';
import { LocalRecord } from './record.js';
import type { AgentStore } from './store.js';
import { GIB } from './reconcile/volumes.js';
import { AGENT_VERSION } from './version.js';

export const DEFAULT_POLL_INTERVAL_MS = 1_000;
export const DEFAULT_RESYNC_INTERVAL_MS = 60_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 60_000;
export const DEFAULT_RECONNECT_BASE_MS = 1_000;
export const DEFAULT_RECONNECT_MAX_MS = 30_000;
export const DEFAULT_DELETED_RETENTION_MS = 10 * 60_000;
/** Instances reconciled side by side (one guest's shutdown grace does not block the others). */
export const DEFAULT_INSTANCE_CONCURRENCY = 4;
/** While a pass runs longer than this (a guest's grace period), the heartbeat is refreshed alone. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
const MIB = 1024 * 1024;

/** Structured logger (pino's shape). */
export interface AgentLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: AgentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface AgentOptions {
  host: string;
  zone: string;
  store: AgentStore;
  /** Opens a new hypervisor connection (called again after a connection loss). */
  connect: () => Promise<Hypervisor>;
  /** Absolute folder for the pools and the local record. */
  dataDir: string;
  namePrefix?: string;
  pollIntervalMs?: number;
  resyncIntervalMs?: number;
  shutdownTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  deletedRetentionMs?: number;
  instanceConcurrency?: number;
  /** The host's network devices, for leftover bridges (tests pass a fake); the kernel's by default. */
  hostLinks?: HostLinks;
  agentVersion?: string;
  now?: () => Date;
  log?: AgentLogger;
}

/** What one sync did. */
export interface SyncResult {
  /** 'applied': a pass ran; 'no-desired': desired.json missing; 'refused': unknown format; 'disconnected'. */
  outcome: 'applied' | 'no-desired' | 'refused' | 'disconnected';
  observed: HostObservedState;
  pass?: PassResult;
}

export class Agent {
  readonly naming: Naming;
  private hv: Hypervisor | undefined;
  private unsubscribe: Array<() => void> = [];
  private desired: HostDesiredState | undefined;
  private etag: string | undefined;
  private previous: HostObservedState | undefined;
  private capacity = { vcpus: 0, memoryMiB: 0 };
  private readonly backoff: Backoff;
  private readonly events: EventLog;
  private readonly now: () => Date;
  private readonly log: AgentLogger;
  private reconnectFailures = 0;
  private everConnected = false;
  private lastFull = 0;
  private readonly startedAt: string;
  private stopping = false;
  private wakeRequested = false;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private syncing: Promise<SyncResult> | undefined;
  private lastPublish = 0;
  private writes: Promise<void> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly opts: AgentOptions, private readonly record: LocalRecord) {
    this.naming = new Naming(opts.namePrefix);
    this.now = opts.now ?? (() => new Date());
    this.log = opts.log ?? silent;
    this.backoff = new Backoff(opts.backoffBaseMs, opts.backoffMaxMs);
    this.events = new EventLog(opts.host, this.now);
    this.startedAt = this.now().toISOString();
  }

  /** Loads the local record from the data dir; does not connect yet. */
  static async create(opts: AgentOptions): Promise<Agent> {
    return new Agent(opts, await LocalRecord.load(opts.dataDir));
  }

  get connected(): boolean {
    return this.hv !== undefined;
  }

  /** Runs the loop in the background until stop(). */
  start(): void {
    if (this.loopDone) return;
    this.loopDone = this.loop();
  }

  /** Asks for a pass as soon as possible. */
  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  /** Stops the loop after the current pass and closes the hypervisor connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
    await this.syncing?.catch(() => undefined);
    await this.disconnect();
  }

  private async loop(): Promise<void> {
    const every = this.opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(every), every);
    this.heartbeatTimer.unref();
    try {
      await this.loopPasses();
    } finally {
      clearInterval(this.heartbeatTimer);
    }
  }

  /** Refreshes only the heartbeat of the last observed state when no pass published lately. */
  private async heartbeat(every: number): Promise<void> {
    if (!this.previous || Date.now() - this.lastPublish < every) return;
    this.lastPublish = Date.now();
    // Taken when the write's turn comes, so it never overwrites a newer observed state.
    await this.write(() => ({ ...this.previous!, heartbeat: this.now().toISOString() }));
  }

  /** Observed-state writes, one at a time and in order. */
  private write(doc: () => HostObservedState): Promise<void> {
    const next = this.writes.then(async () => {
      try {
        await this.opts.store.putObserved(this.opts.host, doc());
      } catch (e) {
        this.log.warn({ err: e }, 'cannot write observed state');
      }
    });
    this.writes = next;
    return next;
  }

  private async loopPasses(): Promise<void> {
    while (!this.stopping) {
      this.wakeRequested = false;
      const full = this.now().getTime() - this.lastFull >= (this.opts.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS);
      try {
        await this.sync({ full });
      } catch (e) {
        this.log.error({ err: e }, 'agent sync failed');
      }
      if (this.stopping) break;
      await this.sleep(this.hv ? this.opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS : this.reconnectDelay());
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakeRequested) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  private reconnectDelay(): number {
    const base = this.opts.reconnectBaseMs ?? DEFAULT_RECONNECT_BASE_MS;
    return Math.min(this.opts.reconnectMaxMs ?? DEFAULT_RECONNECT_MAX_MS, base * 2 ** Math.max(0, this.reconnectFailures - 1));
  }

  /** One sync: connect if needed, read desired state, run a pass, write observed state and events. */
  sync(options: { full?: boolean } = {}): Promise<SyncResult> {
    const run = (this.syncing ?? Promise.resolve()).catch(() => undefined).then(() => this.syncNow(options.full ?? false));
    this.syncing = run;
    return run;
  }

  private async syncNow(full: boolean): Promise<SyncResult> {
    let hv: Hypervisor;
    try {
      hv = await this.ensureConnected();
    } catch (e) {
      return this.report('disconnected', { reason: 'ConnectionLost', message: `libvirt: ${(e as Error).message}` });
    }
    if (full) this.lastFull = this.now().getTime();
    let storeError: string | undefined;
    try {
      const got = await this.opts.store.getDesired(this.opts.host, full ? undefined : this.etag);
      if (got.status === 'ok') {
        this.desired = got.value;
        this.etag = got.etag;
      } else if (got.status === 'missing') {
        this.desired = undefined;
        this.etag = undefined;
      }
    } catch (e) {
      storeError = `cannot read desired state: ${(e as Error).message}`;
      this.log.warn({ err: e }, 'cannot read desired state; keeping the last one');
    }
    const desired = this.desired;
    if (!desired) {
      return this.report('no-desired', { reason: 'NoDesiredState', message: storeError ?? `no desired state for host ${this.opts.host} yet` });
    }
    const refusal = this.check(desired);
    if (refusal) return this.report('refused', { reason: refusal.reason, message: refusal.message, permanent: true });

    let pass: PassResult;
    try {
      pass = await runPass({
        hv, host: this.opts.host, desired, naming: this.naming, store: this.opts.store, record: this.record, backoff: this.backoff,
        events: this.events, previous: this.previous, capacity: this.capacity, now: this.now,
        settings: {
          dataDir: this.opts.dataDir,
          shutdownTimeoutMs: this.opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
          deletedRetentionMs: this.opts.deletedRetentionMs ?? DEFAULT_DELETED_RETENTION_MS,
          instanceConcurrency: this.opts.instanceConcurrency ?? DEFAULT_INSTANCE_CONCURRENCY,
          ...(this.opts.hostLinks ? { hostLinks: this.opts.hostLinks } : {}),
        },
      });
    } catch (e) {
      if (e instanceof ConnectionLostError) {
        await this.disconnect();
        return this.report('disconnected', { reason: 'ConnectionLost', message: `libvirt connection lost during a pass: ${e.message}` });
      }
      const { reason } = reasonOf(e);
      this.log.error({ err: e }, 'reconcile pass failed');
      return this.report('applied', { reason, message: `reconcile pass failed: ${(e as Error).message}` });
    }
    const observed = pass.observed;
    if (storeError) observed.lastError = { message: storeError, time: observed.heartbeat };
    await this.publish(observed);
    return { outcome: 'applied', observed, pass };
  }

  private check(desired: HostDesiredState): AgentError | undefined {
    if (desired.formatVersion !== STATE_FORMAT_VERSION) return new UnsupportedFormatVersionError(desired.formatVersion, STATE_FORMAT_VERSION);
    if (desired.host !== this.opts.host) return new WrongHostError(desired.host, this.opts.host);
    return undefined;
  }

  /** Observed state when no pass ran: the previous resources, the error, a fresh heartbeat. */
  private async report(outcome: SyncResult['outcome'], problem: { reason: string; message: string; permanent?: boolean }): Promise<SyncResult> {
    const now = this.now().toISOString();
    const prev = this.previous;
    const error: ObservedError = { message: problem.message, time: now, ...(problem.permanent ? { permanent: true } : {}) };
    const prevCond = prev?.conditions?.find((c) => c.type === 'Ready');
    const condition: Condition = {
      type: outcome === 'refused' ? 'Stalled' : 'Ready',
      status: outcome === 'refused' ? 'True' : 'False',
      reason: problem.reason,
      message: problem.message,
      observedRevision: this.desired?.revision ?? prev?.seenRevision ?? '',
      lastTransitionTime: prevCond && prevCond.reason === problem.reason ? prevCond.lastTransitionTime : now,
    };
    const observed: HostObservedState = {
      formatVersion: STATE_FORMAT_VERSION,
      kind: 'HostObservedState',
      host: this.opts.host,
      heartbeat: now,
      ...(prev?.appliedRevision ? { appliedRevision: prev.appliedRevision } : {}),
      ...(this.desired ? { seenRevision: this.desired.revision } : {}),
      totals: prev?.totals ?? { vcpus: this.capacity.vcpus, memoryMiB: this.capacity.memoryMiB, diskGiB: 0, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0 },
      networks: prev?.networks ?? {},
      images: prev?.images ?? {},
      volumes: prev?.volumes ?? {},
      instances: prev?.instances ?? {},
      lastError: error,
      conditions: [condition],
    };
    await this.publish(observed);
    return { outcome, observed };
  }

  private async publish(observed: HostObservedState): Promise<void> {
    this.previous = observed;
    this.lastPublish = Date.now();
    await this.write(() => observed);
    const failed = await this.events.flush(this.opts.store);
    if (failed.length > 0) this.log.warn({ count: failed.length }, 'events dropped: store unavailable');
  }

  private async ensureConnected(): Promise<Hypervisor> {
    if (this.hv) return this.hv;
    let hv: Hypervisor;
    try {
      hv = await this.opts.connect();
    } catch (e) {
      this.reconnectFailures++;
      throw e;
    }
    try {
      const info = await hv.hostInfo();
      this.capacity = { vcpus: info.cpus, memoryMiB: Math.floor(info.memoryBytes / MIB) };
      this.unsubscribe = [
        hv.onDomainEvent((e) => {
          if (this.naming.owns(e.domain)) this.wake();
        }),
        hv.onConnectionLost((err) => {
          this.log.warn({ err }, 'libvirt connection lost');
          if (this.hv === hv) void this.disconnect();
        }),
      ];
      this.hv = hv;
      if (this.everConnected) {
        this.events.add({ resourceKind: 'host', resource: this.opts.host, action: 'repaired', reason: 'Reconnected', message: `reconnected to ${hv.uri}`, result: 'ok' });
      }
      this.everConnected = true;
      this.reconnectFailures = 0;
      // A new connection: retry everything now and re-read the desired state in full.
      this.backoff.clear();
      this.etag = undefined;
      await this.register(hv, info.libvirtVersion);
      this.log.info({ uri: hv.uri, host: this.opts.host }, 'connected to libvirt');
      return hv;
    } catch (e) {
      this.reconnectFailures++;
      await this.disconnect(hv);
      throw e;
    }
  }

  /** Writes info.json: capacity (disk: the pool's file system), zone, versions. */
  private async register(hv: Hypervisor, libvirtVersion: string): Promise<void> {
    let diskGiB = 0;
    try {
      const pool = (await hv.listPools()).find((p) => p.name === this.naming.volumePool || p.name === this.naming.imagePool);
      if (pool) diskGiB = Math.floor(pool.capacityBytes / GIB);
      else diskGiB = await fsCapacityGiB(this.opts.dataDir);
    } catch (e) {
      if (e instanceof ConnectionLostError) throw e;
    }
    const info: HostInfo = {
      formatVersion: STATE_FORMAT_VERSION,
      kind: 'HostInfo',
      host: this.opts.host,
      zone: this.opts.zone,
      vcpus: this.capacity.vcpus,
      memoryMiB: this.capacity.memoryMiB,
      diskGiB,
      libvirtUri: hv.uri,
      libvirtVersion,
      agentVersion: this.opts.agentVersion ?? AGENT_VERSION,
      startedAt: this.startedAt,
    };
    try {
      await this.opts.store.putInfo(this.opts.host, info);
    } catch (e) {
      this.log.warn({ err: e }, 'cannot write host info');
    }
  }

  private async disconnect(hv = this.hv): Promise<void> {
    if (hv === this.hv) {
      for (const u of this.unsubscribe) u();
      this.unsubscribe = [];
      this.hv = undefined;
    }
    await hv?.close().catch(() => undefined);
  }
}

/** Size of the file system holding `dir` (before the pools exist), in GiB. */
async function fsCapacityGiB(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Math.floor((s.blocks * s.bsize) / GIB);
}
