/**
 * Configuration of the controller role (`ringstack controller --config F`): one YAML file,
 * every setting with a default and an environment variable, read once at start-up and passed
 * down. The object store the state lives in is any S3 endpoint.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_STATE_BUCKET } from '../../agents/contract/keys.js';
import { parseStatusTokens, type StatusToken } from '../status/access.js';
import { IDLE_GC_DELAY_MS } from './idle-gc.js';

export interface ControllerConfig {
  /** Where bare repositories and caches are kept. */
  dataDir: string;
  host: string;
  port: number;
  /** Tokens accepted as the HTTP basic-auth password for `git push`. */
  gitTokens: string[];
  /** The tracked repository name (`/git/<repo>.git`) and branch. */
  repo: string;
  branch: string;
  store: { endpoint: string; accessKey: string; secretKey: string; bucket: string; region: string };
  /** Seconds without heartbeat before a host counts as down. */
  heartbeatTimeoutSeconds: number;
  /** Seconds a down host keeps its instances before they are rescheduled. */
  gracePeriodSeconds: number;
  /** How often hosts are re-read and the current revision recompiled if they changed. */
  resyncIntervalMs: number;
  /**
   * Quiet time after a publication before a full garbage collection (0: never; V8 decides).
   * Bounds memory between pushes at the cost of CPU in the next push (controller/service/idle-gc.ts).
   */
  idleGcMs: number;
  scheduler: { strategy: 'spread' | 'pack'; cpuAllocationRatio: number; ramAllocationRatio: number; diskAllocationRatio: number };
  /**
   * Read tokens of the status API (`token` or `token:project`); none means reads are open on
   * the loopback address only.
   */
  statusTokens: StatusToken[];
  /**
   * Where commits come from: `push` (the controller's own Git endpoint, validated before the
   * branch moves), `local` (a repository on this machine, watched), or `remote` (an http(s)
   * repository polled every `intervalMs`, and at once on `POST /hooks/git/<repo>`).
   */
  source: SourceConfig;
}

export type SourceConfig =
  | { kind: 'push' }
  | { kind: 'local'; path: string }
  | { kind: 'remote'; url: string; intervalMs: number; token?: string; webhookSecret?: string };

export class ControllerConfigError extends Error {
  override name = 'ControllerConfigError';
}

type Env = NodeJS.ProcessEnv;

const DEFAULTS = {
  dataDir: '/var/lib/ringstack/controller',
  host: '127.0.0.1',
  port: 8081,
  repo: 'infra',
  branch: 'main',
  endpoint: 'http://127.0.0.1:8080',
  bucket: DEFAULT_STATE_BUCKET,
  region: 'us-east-1',
  heartbeatTimeoutSeconds: 30,
  gracePeriodSeconds: 300,
  resyncIntervalMs: 5000,
  idleGcMs: IDLE_GC_DELAY_MS,
  remoteIntervalMs: 60_000,
};

function sourceFrom(f: Record<string, unknown>, env: Env): SourceConfig {
  const kind = str(env.RINGSTACK_SOURCE_KIND ?? f.kind, 'source.kind') ?? 'push';
  if (kind === 'push') return { kind };
  if (kind === 'local') {
    const path = str(env.RINGSTACK_SOURCE_PATH ?? f.path, 'source.path');
    if (!path) throw new ControllerConfigError('source.path (RINGSTACK_SOURCE_PATH) is required for a local source');
    return { kind, path: resolve(path) };
  }
  if (kind === 'remote') {
    const url = str(env.RINGSTACK_SOURCE_URL ?? f.url, 'source.url');
    if (!url || !/^https?:\/\//.test(url)) throw new ControllerConfigError(`source.url (RINGSTACK_SOURCE_URL) must be an http(s) URL, got ${JSON.stringify(url ?? '')}`);
    const token = str(env.RINGSTACK_SOURCE_TOKEN ?? f.token, 'source.token');
    const webhookSecret = str(env.RINGSTACK_SOURCE_WEBHOOK_SECRET ?? f.webhookSecret, 'source.webhookSecret');
    return {
      kind, url, intervalMs: num(env.RINGSTACK_SOURCE_INTERVAL_MS ?? f.intervalMs, 'source.intervalMs', 100) ?? DEFAULTS.remoteIntervalMs,
      ...(token ? { token } : {}), ...(webhookSecret ? { webhookSecret } : {}),
    };
  }
  throw new ControllerConfigError(`source.kind must be push, local or remote, got "${kind}"`);
}

function str(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw new ControllerConfigError(`${what} must be a string`);
  return String(v);
}

function num(v: unknown, what: string, min: number): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n < min) throw new ControllerConfigError(`${what} must be a number >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Builds the configuration from a parsed YAML object (may be empty) and the environment;
 * the environment wins over the file, the file over the defaults.
 */
export function controllerConfigFrom(file: Record<string, unknown>, env: Env = process.env): ControllerConfig {
  const f = file as Record<string, any>;
  const store = (f.store ?? {}) as Record<string, unknown>;
  const sched = (f.scheduler ?? {}) as Record<string, unknown>;
  const tokensText = env.RINGSTACK_GIT_TOKENS ?? (Array.isArray(f.gitTokens) ? f.gitTokens.join(',') : str(f.gitTokens, 'gitTokens'));
  const gitTokens = (tokensText ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  const statusText = env.RINGSTACK_STATUS_TOKENS ?? (Array.isArray(f.statusTokens) ? f.statusTokens.join(',') : str(f.statusTokens, 'statusTokens'));
  const strategy = str(env.RINGSTACK_SCHEDULER_STRATEGY ?? sched.strategy, 'scheduler.strategy') ?? 'spread';
  if (strategy !== 'spread' && strategy !== 'pack') throw new ControllerConfigError(`scheduler.strategy must be spread or pack, got "${strategy}"`);
  const cfg: ControllerConfig = {
    dataDir: resolve(str(env.RINGSTACK_CONTROLLER_DATA_DIR ?? f.dataDir, 'dataDir') ?? DEFAULTS.dataDir),
    host: str(env.RINGSTACK_CONTROLLER_HOST ?? f.host, 'host') ?? DEFAULTS.host,
    port: num(env.RINGSTACK_CONTROLLER_PORT ?? f.port, 'port', 0) ?? DEFAULTS.port,
    gitTokens,
    repo: str(env.RINGSTACK_GIT_REPO ?? f.repo, 'repo') ?? DEFAULTS.repo,
    branch: str(env.RINGSTACK_GIT_BRANCH ?? f.branch, 'branch') ?? DEFAULTS.branch,
    store: {
      endpoint: str(env.RINGSTACK_STATE_ENDPOINT ?? store.endpoint, 'store.endpoint') ?? DEFAULTS.endpoint,
      accessKey: str(env.RINGSTACK_STATE_ACCESS_KEY ?? store.accessKey, 'store.accessKey') ?? '',
      secretKey: str(env.RINGSTACK_STATE_SECRET_KEY ?? store.secretKey, 'store.secretKey') ?? '',
      bucket: str(env.RINGSTACK_STATE_BUCKET ?? store.bucket, 'store.bucket') ?? DEFAULTS.bucket,
      region: str(env.RINGSTACK_STATE_REGION ?? store.region, 'store.region') ?? DEFAULTS.region,
    },
    heartbeatTimeoutSeconds: num(env.RINGSTACK_HEARTBEAT_TIMEOUT ?? f.heartbeatTimeoutSeconds, 'heartbeatTimeoutSeconds', 1) ?? DEFAULTS.heartbeatTimeoutSeconds,
    gracePeriodSeconds: num(env.RINGSTACK_GRACE_PERIOD ?? f.gracePeriodSeconds, 'gracePeriodSeconds', 0) ?? DEFAULTS.gracePeriodSeconds,
    resyncIntervalMs: num(env.RINGSTACK_RESYNC_INTERVAL_MS ?? f.resyncIntervalMs, 'resyncIntervalMs', 100) ?? DEFAULTS.resyncIntervalMs,
    idleGcMs: num(env.RINGSTACK_CONTROLLER_IDLE_GC_MS ?? f.idleGcMs, 'idleGcMs', 0) ?? DEFAULTS.idleGcMs,
    scheduler: {
      strategy,
      cpuAllocationRatio: num(sched.cpuAllocationRatio, 'scheduler.cpuAllocationRatio', 0) ?? 4,
      ramAllocationRatio: num(sched.ramAllocationRatio, 'scheduler.ramAllocationRatio', 0) ?? 1,
      diskAllocationRatio: num(sched.diskAllocationRatio, 'scheduler.diskAllocationRatio', 0) ?? 1,
    },
    statusTokens: parseStatusTokens(statusText ?? ''),
    source: sourceFrom((f.source ?? {}) as Record<string, unknown>, env),
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(cfg.repo)) throw new ControllerConfigError(`repo must be a plain name, got "${cfg.repo}"`);
  if (!cfg.store.accessKey || !cfg.store.secretKey) {
    throw new ControllerConfigError('store.accessKey and store.secretKey are required (or RINGSTACK_STATE_ACCESS_KEY / RINGSTACK_STATE_SECRET_KEY)');
  }
  if (cfg.gitTokens.length === 0 && cfg.source.kind === 'push') throw new ControllerConfigError('at least one git token is required (gitTokens or RINGSTACK_GIT_TOKENS)');
  return cfg;
}

/** Reads the YAML file (if given) and the environment. */
export async function loadControllerConfig(file: string | undefined, env: Env = process.env): Promise<ControllerConfig> {
  let data: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new ControllerConfigError(`cannot read ${file}: ${(e as Error).message}`);
    }
    try {
      data = (parse(text) ?? {}) as Record<string, unknown>;
    } catch (e) {
      throw new ControllerConfigError(`${file}: ${(e as Error).message.split('\n')[0]}`);
    }
    if (typeof data !== 'object' || Array.isArray(data)) throw new ControllerConfigError(`${file}: expected a mapping`);
  }
  return controllerConfigFrom(data, env);
}
