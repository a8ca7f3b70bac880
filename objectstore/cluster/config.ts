/**
 * The configuration of a storage node and of a proxy, read once at start-up: one YAML file
 * (every key optional), then environment variables, then defaults. Both `ringstack
 * storage-node` and `ringstack proxy` use this one schema; the one-machine launcher writes
 * such files for its children.
 *
 * ```yaml
 * secret: <cluster secret>          # RINGSTACK_CLUSTER_SECRET (or secretFile / RINGSTACK_CLUSTER_SECRET_FILE)
 * hashPrefix: ''                    # RINGSTACK_HASH_PATH_PREFIX   (never change once data exists)
 * hashSuffix: <random>              # RINGSTACK_HASH_PATH_SUFFIX
 * ringDir: /etc/ringstack/rings     # RINGSTACK_RING_DIR: object.ring.gz, container.ring.gz, account.ring.gz
 * node:
 *   host: 127.0.0.1                 # RINGSTACK_NODE_HOST
 *   port: 6200                      # RINGSTACK_NODE_PORT
 *   devicesDir: /srv/ringstack      # RINGSTACK_DEVICES_DIR: one folder per device
 *   reserveBytes: 0                 # RINGSTACK_RESERVE_BYTES: keep free, 507 otherwise
 *   dbSync: true                    # RINGSTACK_DB_SYNC: fsync container/account rows
 *   smallWriteLog: true             # RINGSTACK_SMALL_WRITE_LOG: small writes made durable by a group-committed log (default: where the addon is built)
 *   ringWatchMs: 15000              # RINGSTACK_RING_WATCH_MS: how often the rings are checked for changes
 *   replicator:
 *     intervalMs: 30000             # RINGSTACK_REPLICATOR_INTERVAL_MS: pause between passes
 *     concurrency: 2                # RINGSTACK_REPLICATOR_CONCURRENCY: partitions synced at once
 *     reclaimAgeSeconds: 604800     # RINGSTACK_RECLAIM_AGE_SECONDS: tombstones older than this are removed
 *   auditor:
 *     intervalMs: 60000             # RINGSTACK_AUDITOR_INTERVAL_MS: pause between passes
 *     filesPerSecond: 20            # RINGSTACK_AUDITOR_FILES_PER_SECOND
 *     bytesPerSecond: 10485760      # RINGSTACK_AUDITOR_BYTES_PER_SECOND
 * proxy:
 *   host: 127.0.0.1                 # RINGSTACK_PROXY_HOST
 *   port: 8080                      # RINGSTACK_PROXY_PORT
 *   region: us-east-1               # RINGSTACK_REGION (S3)
 *   nodeTimeoutMs: 10000            # RINGSTACK_NODE_TIMEOUT_MS
 *   receiveBufferBytes: 4194304     # RINGSTACK_PROXY_RECEIVE_BUFFER_BYTES: each client connection's
 *                                   #   receive window (SO_RCVBUF); 0 = the kernel's autotuning
 *   credentialsFile: credentials.json  # RINGSTACK_CREDENTIALS_FILE ({accessKey, secretKey, account})
 * ```
 * Relative paths are relative to the config file's folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const DEFAULT_NODE_PORT = 6200;
export const DEFAULT_PROXY_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_RING_DIR = '/etc/ringstack/rings';
export const DEFAULT_DEVICES_DIR = '/srv/ringstack';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_NODE_TIMEOUT_MS = 10_000;
/**
 * Every client connection's receive window at the proxy (see common/socket-buffer.ts: with
 * autotuning, concurrent uploads progress unevenly on a busy host). Forced past
 * net.core.rmem_max when the proxy may, else left to autotuning. Memory is taken only while a
 * client's bytes wait unread.
 */
export const DEFAULT_PROXY_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_RING_WATCH_MS = 15_000;
export const DEFAULT_REPLICATOR_INTERVAL_MS = 30_000;
export const DEFAULT_REPLICATOR_CONCURRENCY = 2;
/** A week, as Swift's reclaim_age: a node away longer than this may bring deleted objects back. */
export const DEFAULT_RECLAIM_AGE_SECONDS = 604_800;
export const DEFAULT_AUDITOR_INTERVAL_MS = 60_000;
export const DEFAULT_AUDITOR_FILES_PER_SECOND = 20;
export const DEFAULT_AUDITOR_BYTES_PER_SECOND = 10 * 1024 * 1024;
export const RING_FILES = { object: 'object.ring.gz', container: 'container.ring.gz', account: 'account.ring.gz' } as const;

export class ConfigError extends Error {}

export interface ClusterConfig {
  secret: string;
  hashPrefix: string;
  hashSuffix: string;
  ringDir: string;
  node: {
    host: string; port: number; devicesDir: string; reserveBytes: number; dbSync: boolean; ringWatchMs: number;
    /** Undefined: on where the native addon is built (node/small-write-log.ts). */
    smallWriteLog?: boolean;
    replicator: ReplicatorConfig; auditor: AuditorConfig;
  };
  proxy: {
    host: string; port: number; region: string; nodeTimeoutMs: number; credentialsFile?: string;
    /** SO_RCVBUF of the listening socket, inherited by client connections; 0 = kernel autotuning. */
    receiveBufferBytes: number;
  };
}

/** The replicator of a storage node (objectstore/replicator). */
export interface ReplicatorConfig {
  intervalMs: number;
  concurrency: number;
  reclaimAgeSeconds: number;
}

/** The auditor of a storage node (objectstore/auditor). */
export interface AuditorConfig {
  intervalMs: number;
  filesPerSecond: number;
  bytesPerSecond: number;
}

type Env = Record<string, string | undefined>;

function str(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`${what} must be a string`);
  return String(v);
}

function int(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : /^\d+$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

function bool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  if (/^(true|1|yes)$/i.test(String(v))) return true;
  if (/^(false|0|no)$/i.test(String(v))) return false;
  throw new ConfigError(`${what} must be true or false, got ${JSON.stringify(v)}`);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${what} must be a mapping`);
  return v as Record<string, unknown>;
}

const KNOWN_TOP = ['secret', 'secretFile', 'hashPrefix', 'hashSuffix', 'ringDir', 'node', 'proxy'];
const KNOWN_NODE = ['host', 'port', 'devicesDir', 'reserveBytes', 'dbSync', 'smallWriteLog', 'ringWatchMs', 'replicator', 'auditor'];
const KNOWN_REPLICATOR = ['intervalMs', 'concurrency', 'reclaimAgeSeconds'];
const KNOWN_AUDITOR = ['intervalMs', 'filesPerSecond', 'bytesPerSecond'];
const DAY_MS = 86_400_000;
/** SO_RCVBUF takes a C int. */
const MAX_RECEIVE_BUFFER_BYTES = 1024 * 1024 * 1024;
const KNOWN_PROXY = ['host', 'port', 'region', 'nodeTimeoutMs', 'credentialsFile', 'receiveBufferBytes'];

function checkKeys(o: Record<string, unknown>, known: string[], where: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new ConfigError(`unknown setting "${where}${k}"`);
}

/** Builds the config from parsed YAML (may be {}), the environment and defaults. */
export async function resolveConfig(raw: unknown, baseDir: string, env: Env = process.env): Promise<ClusterConfig> {
  const top = obj(raw, 'config');
  checkKeys(top, KNOWN_TOP, '');
  const node = obj(top.node, 'node');
  checkKeys(node, KNOWN_NODE, 'node.');
  const repl = obj(node.replicator, 'node.replicator');
  checkKeys(repl, KNOWN_REPLICATOR, 'node.replicator.');
  const aud = obj(node.auditor, 'node.auditor');
  checkKeys(aud, KNOWN_AUDITOR, 'node.auditor.');
  /** Environment variable, else the file's value, else the default. */
  const num = (envName: string, v: unknown, what: string, min: number, max: number, dflt: number): number =>
    int(env[envName], envName, min, max) ?? int(v, what, min, max) ?? dflt;
  const proxy = obj(top.proxy, 'proxy');
  checkKeys(proxy, KNOWN_PROXY, 'proxy.');
  const path = (p: string) => resolve(baseDir, p);

  let secret = env.RINGSTACK_CLUSTER_SECRET ?? str(top.secret, 'secret');
  const secretFile = env.RINGSTACK_CLUSTER_SECRET_FILE ?? str(top.secretFile, 'secretFile');
  if (!secret && secretFile) {
    try {
      secret = (await readFile(path(secretFile), 'utf8')).trim();
    } catch (e) {
      throw new ConfigError(`cannot read secretFile ${path(secretFile)}: ${(e as Error).message}`);
    }
  }
  if (!secret) throw new ConfigError('no cluster secret: set "secret", "secretFile" or RINGSTACK_CLUSTER_SECRET');
  if (secret.length < 16) throw new ConfigError('the cluster secret must be at least 16 characters');
  const hashSuffix = env.RINGSTACK_HASH_PATH_SUFFIX ?? str(top.hashSuffix, 'hashSuffix') ?? '';
  const hashPrefix = env.RINGSTACK_HASH_PATH_PREFIX ?? str(top.hashPrefix, 'hashPrefix') ?? '';
  if (!hashSuffix && !hashPrefix) throw new ConfigError('set hashSuffix (or hashPrefix): the path hash salt, as in swift.conf');
  const credentials = env.RINGSTACK_CREDENTIALS_FILE ?? str(proxy.credentialsFile, 'proxy.credentialsFile');
  return {
    secret,
    hashPrefix,
    hashSuffix,
    ringDir: path(env.RINGSTACK_RING_DIR ?? str(top.ringDir, 'ringDir') ?? DEFAULT_RING_DIR),
    node: {
      host: env.RINGSTACK_NODE_HOST ?? str(node.host, 'node.host') ?? DEFAULT_HOST,
      port: int(env.RINGSTACK_NODE_PORT, 'RINGSTACK_NODE_PORT', 0, 65535) ?? int(node.port, 'node.port', 0, 65535) ?? DEFAULT_NODE_PORT,
      devicesDir: path(env.RINGSTACK_DEVICES_DIR ?? str(node.devicesDir, 'node.devicesDir') ?? DEFAULT_DEVICES_DIR),
      reserveBytes: int(env.RINGSTACK_RESERVE_BYTES, 'RINGSTACK_RESERVE_BYTES', 0, Number.MAX_SAFE_INTEGER)
        ?? int(node.reserveBytes, 'node.reserveBytes', 0, Number.MAX_SAFE_INTEGER) ?? 0,
      dbSync: bool(env.RINGSTACK_DB_SYNC, 'RINGSTACK_DB_SYNC') ?? bool(node.dbSync, 'node.dbSync') ?? true,
      smallWriteLog: bool(env.RINGSTACK_SMALL_WRITE_LOG, 'RINGSTACK_SMALL_WRITE_LOG') ?? bool(node.smallWriteLog, 'node.smallWriteLog'),
      ringWatchMs: num('RINGSTACK_RING_WATCH_MS', node.ringWatchMs, 'node.ringWatchMs', 100, DAY_MS, DEFAULT_RING_WATCH_MS),
      replicator: {
        intervalMs: num('RINGSTACK_REPLICATOR_INTERVAL_MS', repl.intervalMs, 'node.replicator.intervalMs', 100, DAY_MS,
          DEFAULT_REPLICATOR_INTERVAL_MS),
        concurrency: num('RINGSTACK_REPLICATOR_CONCURRENCY', repl.concurrency, 'node.replicator.concurrency', 1, 64,
          DEFAULT_REPLICATOR_CONCURRENCY),
        reclaimAgeSeconds: num('RINGSTACK_RECLAIM_AGE_SECONDS', repl.reclaimAgeSeconds, 'node.replicator.reclaimAgeSeconds',
          0, 10 * 365 * 86_400, DEFAULT_RECLAIM_AGE_SECONDS),
      },
      auditor: {
        intervalMs: num('RINGSTACK_AUDITOR_INTERVAL_MS', aud.intervalMs, 'node.auditor.intervalMs', 100, DAY_MS,
          DEFAULT_AUDITOR_INTERVAL_MS),
        filesPerSecond: num('RINGSTACK_AUDITOR_FILES_PER_SECOND', aud.filesPerSecond, 'node.auditor.filesPerSecond', 1,
          1_000_000, DEFAULT_AUDITOR_FILES_PER_SECOND),
        bytesPerSecond: num('RINGSTACK_AUDITOR_BYTES_PER_SECOND', aud.bytesPerSecond, 'node.auditor.bytesPerSecond', 1,
          Number.MAX_SAFE_INTEGER, DEFAULT_AUDITOR_BYTES_PER_SECOND),
      },
    },
    proxy: {
      host: env.RINGSTACK_PROXY_HOST ?? str(proxy.host, 'proxy.host') ?? DEFAULT_HOST,
      port: int(env.RINGSTACK_PROXY_PORT, 'RINGSTACK_PROXY_PORT', 0, 65535) ?? int(proxy.port, 'proxy.port', 0, 65535) ?? DEFAULT_PROXY_PORT,
      region: env.RINGSTACK_REGION ?? str(proxy.region, 'proxy.region') ?? DEFAULT_REGION,
      nodeTimeoutMs: int(env.RINGSTACK_NODE_TIMEOUT_MS, 'RINGSTACK_NODE_TIMEOUT_MS', 1, 3_600_000)
        ?? int(proxy.nodeTimeoutMs, 'proxy.nodeTimeoutMs', 1, 3_600_000) ?? DEFAULT_NODE_TIMEOUT_MS,
      credentialsFile: credentials ? path(credentials) : undefined,
      receiveBufferBytes: num('RINGSTACK_PROXY_RECEIVE_BUFFER_BYTES', proxy.receiveBufferBytes, 'proxy.receiveBufferBytes', 0,
        MAX_RECEIVE_BUFFER_BYTES, DEFAULT_PROXY_RECEIVE_BUFFER_BYTES),
    },
  };
}

/** Reads a config file (YAML) and resolves it with the environment. */
export async function loadConfig(file: string, env: Env = process.env): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return await resolveConfig(raw ?? {}, dirname(resolve(file)), env);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}
