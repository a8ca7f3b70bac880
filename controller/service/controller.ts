/**
 * The controller's reconcile core: checks each pushed commit (validate, schedule, compile,
 * plan) before its ref moves, publishes accepted commits to the state bucket, and re-runs the
 * compile of the current revision whenever the set of usable hosts changes (a host registers,
 * goes silent, or stays gone past the grace period), so instances are placed and moved without
 * a push. One operation runs at a time; compilation is deterministic, so a restarted or second
 * controller publishes the same bytes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DesiredState } from '../../agents/contract/desired.js';
import { formatError } from '../manifests/errors.js';
import { ParseCache } from '../manifests/parse-cache.js';
import { ValidationMemo } from '../manifests/validation-memo.js';
import { CompileCache } from '../plan/compile-cache.js';
import { compileSource } from '../plan/compile-source.js';
import type { CompileResult } from '../plan/compile.js';
import { diffStates, formatPlan } from '../plan/diff.js';
import { hostsFingerprint, type SchedulerHost, type SchedulerOptions } from '../plan/scheduler.js';
import type { RepoBackup } from '../git/backup.js';
import type { CommitCheck } from '../git/types.js';
import { treeSource } from '../git/tree-source.js';
import type { ControllerStore } from './state-store.js';
import { IdleCollector } from './idle-gc.js';

/** Compiled commits waiting for their ref to move (normally one). */
const MAX_PENDING = 8;

export interface ControllerLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ControllerOptions {
  store: ControllerStore;
  /** `<dataDir>/repos`: bare repositories, one per tracked repo. */
  reposDir: string;
  /** The git dir of the tracked repository, when it is not `<reposDir>/<repo>.git` (local and remote sources). */
  repoDir?: string;
  repo: string;
  branch: string;
  scheduler: SchedulerOptions;
  backup?: RepoBackup;
  log: ControllerLog;
  now?: () => Date;
  /** Quiet time after a publication before a full garbage collection; 0 or absent: never (idle-gc.ts). */
  idleGcMs?: number;
}

/** A checked commit waiting for its ref to move. */
interface Pending {
  compiled: CompileResult;
  /** The hosts it was compiled for. */
  hosts: SchedulerHost[];
  /** Its plan against `previous`. */
  plan: string[];
  previous: DesiredState | undefined;
}

export class Controller {
  private readonly cache = new ParseCache();
  private readonly memo = new ValidationMemo();
  private readonly compileCache = new CompileCache();
  /** The state this controller last published: read back instead of fetching and parsing it (26 MB at 10,000 instances). */
  private published?: { revision: string; time: string; desired: DesiredState };
  /** Compiled commits waiting for their ref to move, with the hosts they were compiled for. */
  private readonly pending = new Map<string, Pending>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Serialised operations started and not yet finished. */
  private running = 0;
  /** Collects the garbage of the states replaced by a publication once the controller is idle. */
  readonly idleGc: IdleCollector;
  private hostPrint = '';
  private readonly now: () => Date;

  constructor(private readonly o: ControllerOptions) {
    this.now = o.now ?? (() => new Date());
    this.idleGc = new IdleCollector(() => this.running > 0, o.idleGcMs ?? 0);
  }

  get repoDir(): string {
    return this.o.repoDir ?? join(this.o.reposDir, `${this.o.repo}.git`);
  }

  /**
   * A commit that arrived without a push (watched or polled source): check it, and publish it
   * when valid. An invalid commit cannot be refused here, so it is recorded as rejected (the
   * status API shows its errors) and the state being applied stays as it is.
   */
  apply = async (gitdir: string, commit: string, ref: string): Promise<CommitCheck> => {
    const check = await this.check(gitdir, commit, ref);
    if (check.ok) await this.accept(gitdir, commit, ref);
    else this.o.log.warn({ revision: commit, errors: check.errors }, 'commit rejected; the current revision stays applied');
    return check;
  };

  /** The `ValidateCommit` of the Git endpoint: the whole commit must be valid to be accepted. */
  check = (repoDir: string, commit: string, ref: string): Promise<CommitCheck> =>
    this.serial(async () => {
      const now = this.now();
      const started = performance.now();
      // Read while the commit is validated.
      const hostsRead = this.o.store.hosts();
      const previousRead = this.previousState();
      const r = await compileSource(treeSource(repoDir, commit), {
        revision: commit, hosts: hostsRead, previous: previousRead, now, scheduler: this.o.scheduler, cache: this.cache, memo: this.memo, compileCache: this.compileCache,
      });
      const hosts = await hostsRead;
      const previous = await previousRead;
      if (!r.ok) {
        const errors = r.validation.errors.map(formatError);
        await this.o.store.recordRevision({ revision: commit, ref, status: 'rejected', errors, summary: [], checkedAt: now.toISOString() })
          .catch((err) => this.o.log.warn({ err: String(err) }, 'could not record a rejected revision'));
        return { ok: false, errors, summary: [] };
      }
      const plan = formatPlan(diffStates(previous, r.compiled.desired)).trimEnd().split('\n');
      this.remember(commit, { compiled: r.compiled, hosts, plan, previous });
      this.o.log.info({
        revision: commit, ms: Math.round(performance.now() - started), incrementalValidation: this.memo.patched, incrementalCompile: this.compileCache.patched,
      }, 'commit checked');
      const summary = [...plan];
      const unplaced = Object.values(r.compiled.desired.unschedulable);
      for (const u of unplaced) summary.push(`warning: instance ${u.instance} is unschedulable: ${u.message}`);
      return { ok: true, errors: [], summary };
    });

  /** The `OnAccepted` of the Git endpoint: publish what `check` compiled. */
  accept = (repoDir: string, commit: string, ref: string): Promise<void> =>
    this.serial(async () => {
      const now = this.now();
      const previous = await this.previousState();
      const pending = this.pending.get(commit);
      this.pending.delete(commit);
      const hosts = pending?.hosts ?? await this.o.store.hosts();
      const compiled = pending?.compiled ?? await this.compileOrThrow(repoDir, commit, hosts, previous, now);
      const { hostsWritten } = await this.publish(commit, compiled, previous, now);
      // The hosts it was compiled for: a change since then is the resync's to pick up.
      this.hostPrint = hostsFingerprint(hosts, now, this.o.scheduler);
      await this.o.store.recordRevision({
        revision: commit, ref, status: 'accepted', errors: [],
        summary: pending && pending.previous === previous ? pending.plan : formatPlan(diffStates(previous, compiled.desired)).trimEnd().split('\n'),
        checkedAt: now.toISOString(), appliedAt: this.now().toISOString(),
      });
      this.o.log.info({ revision: commit, hostsWritten }, 'revision published');
    });

  /**
   * One pass of the host watch: when the usable hosts changed since the last compile,
   * recompile the current revision and publish it. Returns true when it published.
   */
  resync = (): Promise<boolean> =>
    this.serial(async () => {
      const now = this.now();
      const hosts = await this.o.store.hosts();
      const print = hostsFingerprint(hosts, now, this.o.scheduler);
      if (print === this.hostPrint) return false;
      const current = await this.o.store.current();
      if (!current) {
        this.hostPrint = print;
        return false;
      }
      if (!existsSync(this.repoDir)) {
        // Restored at start-up when a backup exists (startController); otherwise the first
        // push brings it. Never restore here: the Git endpoint may be restoring it too.
        this.o.log.warn({ repo: this.o.repo }, 'current revision known but its repository is missing; waiting for a push');
        return false;
      }
      const previous = await this.previousState();
      const compiled = await this.compileOrThrow(this.repoDir, current.revision, hosts, previous, now);
      const { hostsWritten } = await this.publish(current.revision, compiled, previous, now);
      this.hostPrint = print;
      if (hostsWritten.length) this.o.log.info({ revision: current.revision, hostsWritten }, 'hosts changed: placements republished');
      return hostsWritten.length > 0;
    });

  /** Publishes and remembers what was published (forgotten first: a failed publish may have written part of it). */
  private async publish(revision: string, compiled: CompileResult, previous: DesiredState | undefined, now: Date): Promise<{ hostsWritten: string[] }> {
    this.published = undefined;
    const r = await this.o.store.publish(compiled, previous, now);
    // The pointer names revision and time of publication: another controller's publication differs in one of them.
    this.published = { revision, time: now.toISOString(), desired: compiled.desired };
    this.idleGc.poke();
    return r;
  }

  private async previousState(): Promise<DesiredState | undefined> {
    const current = await this.o.store.current();
    if (!current) return undefined;
    if (this.published?.revision === current.revision && this.published.time === current.time) return this.published.desired;
    return this.o.store.desired(current.revision);
  }

  private async compileOrThrow(repoDir: string, commit: string, hosts: SchedulerHost[], previous: DesiredState | undefined, now: Date): Promise<CompileResult> {
    const r = await compileSource(treeSource(repoDir, commit), {
      revision: commit, hosts, now, scheduler: this.o.scheduler, cache: this.cache, memo: this.memo, compileCache: this.compileCache, ...(previous ? { previous } : {}),
    });
    if (!r.ok) throw new Error(`revision ${commit} no longer validates: ${r.validation.errors.map(formatError).join('; ')}`);
    return r.compiled;
  }

  private remember(commit: string, p: Pending): void {
    this.pending.set(commit, p);
    while (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    this.running++;
    const run = this.queue.then(fn, fn).finally(() => { this.running--; });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
